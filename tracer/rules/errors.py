"""The error shared by the classification and deadline rule engines."""


class RulesError(Exception):
    """Invalid rules: ``problems`` holds one French line each (file, rule, key)."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)

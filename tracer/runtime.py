"""What the service layer needs besides the session: config, rules, calendar.

Built once per command (or once per daemon, reloaded on demand), so rules are
compiled and checked at load, never at match time.
"""

from __future__ import annotations

from functools import cached_property

from tracer.config import Config


class Runtime:
    def __init__(self, cfg: Config):
        self.cfg = cfg

    @cached_property
    def rules(self):
        from tracer.classify import load_rules

        return load_rules(self.cfg.rules_dir)

    @cached_property
    def calendar(self):
        from tracer.calendar import WorkingCalendar

        return WorkingCalendar(
            zone=self.cfg.tracer.holiday_zone,
            closure_days=self.cfg.tracer.closure_days,
            tz=self.cfg.tz,
        )

    @cached_property
    def deadline_rules(self):
        from tracer.deadlines import DeadlineRules, load_deadline_rules

        path = self.cfg.rules_dir / "deadlines.toml"
        return load_deadline_rules(path) if path.exists() else DeadlineRules.default()

    def check(self) -> None:
        """Load everything now: raises RulesError on invalid rules."""
        self.rules
        self.deadline_rules
        self.calendar

"""Deadline rules (``rules/deadlines.toml``): working days per channel,
category and service; the most specific rule wins."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tracer.rules_errors import RulesError

CHANNELS = ("email", "paper")
CATEGORIES = ("information", "reclamation", "suggestion", "hors_perimetre", "automatique")
NO_DEADLINE = ("automatique", "hors_perimetre")
DEFAULTS = {"email": 5, "paper": 10}


@dataclass
class DeadlineRule:
    working_days: int
    channel: str | None = None
    category: str | None = None
    service: str | None = None

    def matches(self, channel: str, category: str | None, service: str | None) -> bool:
        return (
            (self.channel is None or self.channel == channel)
            and (self.category is None or self.category == category)
            and (self.service is None or self.service == service)
        )

    @property
    def specificity(self) -> int:
        return sum(v is not None for v in (self.channel, self.category, self.service))


@dataclass
class DeadlineRules:
    defaults: dict[str, int] = field(default_factory=lambda: dict(DEFAULTS))
    rules: list[DeadlineRule] = field(default_factory=list)

    @classmethod
    def default(cls) -> "DeadlineRules":
        return cls()

    def days_for(self, channel: str, category: str | None, service: str | None, has_reply_address: bool = True) -> int | None:
        if category in NO_DEADLINE or not has_reply_address:
            return None
        best: DeadlineRule | None = None
        for rule in self.rules:
            if rule.matches(channel, category, service) and (best is None or rule.specificity >= best.specificity):
                best = rule
        if best is not None:
            return best.working_days
        return self.defaults.get(channel, DEFAULTS["email"])


def load_deadline_rules(path: Path) -> DeadlineRules:
    path = Path(path)
    name = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError([f"{name} : fichier introuvable ({path})"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError([f"{name} : syntaxe TOML invalide ({exc})"]) from None
    problems: list[str] = []
    for key in data:
        if key not in ("defaults", "rule"):
            problems.append(f"{name}, {key} : section inconnue")
    defaults = dict(DEFAULTS)
    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        problems.append(f"{name}, defaults : table attendue")
        raw_defaults = {}
    for key, value in raw_defaults.items():
        if key not in CHANNELS:
            problems.append(f"{name}, defaults.{key} : canal inconnu (attendu : email, paper)")
        elif not _positive(value):
            problems.append(f"{name}, defaults.{key} : entier positif attendu")
        else:
            defaults[key] = value
    rules: list[DeadlineRule] = []
    seen: dict[tuple, int] = {}
    for index, raw in enumerate(data.get("rule", []), start=1):
        label = f"{name}, rule[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{label} : table attendue")
            continue
        for key in raw:
            if key not in ("channel", "category", "service", "working_days", "description"):
                problems.append(f"{label}.{key} : clé inconnue")
        if not _positive(raw.get("working_days")):
            problems.append(f"{label}.working_days : entier positif attendu")
            continue
        if raw.get("channel") is not None and raw["channel"] not in CHANNELS:
            problems.append(f"{label}.channel : canal inconnu « {raw['channel']} » (attendu : email, paper)")
        if raw.get("category") is not None and raw["category"] not in CATEGORIES:
            problems.append(f"{label}.category : catégorie inconnue « {raw['category']} »")
        if raw.get("service") is not None and not isinstance(raw["service"], str):
            problems.append(f"{label}.service : texte attendu")
        rule = DeadlineRule(raw["working_days"], raw.get("channel"), raw.get("category"), raw.get("service"))
        key = (rule.channel, rule.category, rule.service)
        if key in seen:
            problems.append(f"{label} : mêmes critères que rule[{seen[key]}] (règle ambiguë)")
        seen[key] = index
        rules.append(rule)
    if problems:
        raise RulesError(problems)
    return DeadlineRules(defaults, rules)


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0

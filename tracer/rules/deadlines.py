"""Deadline rules (``rules/deadlines.toml``): working days per channel,
category and service; the most specific rule wins.

Format::

    [defaults]
    email = 5
    paper = 10

    [[rule]]
    description = "..."          # optional, free text
    channel = "paper"            # optional: "email" | "paper"
    category = "reclamation"     # optional: information | reclamation | suggestion
    service = "etrangers"        # optional: service name
    working_days = 10            # required, positive integer

Resolution: among the rules whose given fields all match, the one giving the
most fields wins; two rules giving exactly the same fields (same values) are
refused at load.  Equal numbers of fields that both match (e.g. channel +
category vs channel + service) are decided by a fixed precedence: service,
then category, then channel.  Without a matching rule, the channel's default
applies.  ``automatique`` and ``hors_perimetre`` never have a deadline, nor
does a request without a reply address.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tracer.rules.errors import RulesError
from tracer.rules.vocabulary import CATEGORIES

CHANNELS = ("email", "paper")
NO_DEADLINE = frozenset({"automatique", "hors_perimetre"})
DEFAULTS = {"email": 5, "paper": 10}
RULE_KEYS = ("description", "channel", "category", "service", "working_days")
MAX_WORKING_DAYS = 366  # beyond, surely a typo


@dataclass(frozen=True)
class DeadlineRule:
    working_days: int
    channel: str | None = None
    category: str | None = None
    service: str | None = None
    description: str = ""
    index: int = 0  # position in the file, 1-based (0: built in code)

    def matches(self, channel: str | None, category: str | None, service: str | None) -> bool:
        return (
            (self.channel is None or self.channel == channel)
            and (self.category is None or self.category == category)
            and (self.service is None or self.service == service)
        )

    @property
    def specificity(self) -> int:
        """Number of fields given."""
        return sum(v is not None for v in (self.channel, self.category, self.service))

    @property
    def rank(self) -> tuple[int, bool, bool, bool]:
        """Sort key: more fields first, then service > category > channel."""
        return (self.specificity, self.service is not None, self.category is not None, self.channel is not None)

    @property
    def key(self) -> tuple[str | None, str | None, str | None]:
        return (self.channel, self.category, self.service)


@dataclass
class DeadlineRules:
    defaults: dict[str, int] = field(default_factory=lambda: dict(DEFAULTS))
    rules: list[DeadlineRule] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        # best first: the first matching rule in this order wins
        self._ordered = sorted(self.rules, key=lambda r: r.rank, reverse=True)
        self._cache: dict[tuple, int] = {}

    @classmethod
    def default(cls) -> "DeadlineRules":
        """The national defaults (e-mail 5, paper 10), no rule."""
        return cls()

    def rule_for(self, channel: str | None, category: str | None, service: str | None) -> DeadlineRule | None:
        """The winning rule, or None (the channel's default applies)."""
        for rule in self._ordered:
            if rule.matches(channel, category, service):
                return rule
        return None

    def days_for(
        self,
        channel: str | None,
        category: str | None,
        service: str | None,
        has_reply_address: bool = True,
    ) -> int | None:
        """Working days allowed to answer, or None when there is no deadline."""
        if category in NO_DEADLINE or not has_reply_address:
            return None
        key = (channel, category, service)
        found = self._cache.get(key)
        if found is None:
            rule = self.rule_for(channel, category, service)
            if rule is not None:
                found = rule.working_days
            else:
                found = self.defaults.get(channel or "email", self.defaults.get("email", DEFAULTS["email"]))
            self._cache[key] = found
        return found


def load_deadline_rules(path: Path) -> DeadlineRules:
    """Read and check ``deadlines.toml``; RulesError lists every problem in French."""
    path = Path(path)
    name = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError([f"{name} : fichier introuvable ({path})"]) from None
    except UnicodeDecodeError:
        raise RulesError([f"{name} : le fichier doit être encodé en UTF-8"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError([f"{name} : syntaxe TOML invalide{_position(exc)}"]) from None
    return parse_deadline_rules(data, name)


def parse_deadline_rules(data: dict, name: str = "deadlines.toml") -> DeadlineRules:
    """Check already-parsed TOML data (``name`` is used in the messages)."""
    problems: list[str] = []
    for key in data:
        if key not in ("defaults", "rule"):
            problems.append(f"{name}, {key} : section inconnue (attendu : [defaults] ou [[rule]])")

    defaults = dict(DEFAULTS)
    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        problems.append(f"{name}, defaults : table attendue ([defaults])")
        raw_defaults = {}
    for key, value in raw_defaults.items():
        if key not in CHANNELS:
            problems.append(f"{name}, defaults.{key} : canal inconnu (attendu : email, paper)")
        elif not _positive(value):
            problems.append(f"{name}, defaults.{key} : entier positif attendu")
        elif value > MAX_WORKING_DAYS:
            problems.append(f"{name}, defaults.{key} : au plus {MAX_WORKING_DAYS} jours ouvrés")
        else:
            defaults[key] = value

    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        problems.append(f"{name}, rule : liste de règles attendue ([[rule]])")
        raw_rules = []
    rules: list[DeadlineRule] = []
    seen: dict[tuple, int] = {}
    for index, raw in enumerate(raw_rules, start=1):
        label = f"{name}, rule[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{label} : table attendue ([[rule]])")
            continue
        before = len(problems)
        for key in raw:
            if key not in RULE_KEYS:
                problems.append(f"{label}.{key} : clé inconnue (attendu : {', '.join(RULE_KEYS)})")
        days = raw.get("working_days")
        if "working_days" not in raw:
            problems.append(f"{label}.working_days : clé obligatoire manquante")
        elif not _positive(days):
            problems.append(f"{label}.working_days : entier positif attendu")
        elif days > MAX_WORKING_DAYS:
            problems.append(f"{label}.working_days : au plus {MAX_WORKING_DAYS} jours ouvrés")
        channel, category, service = raw.get("channel"), raw.get("category"), raw.get("service")
        if channel is not None and channel not in CHANNELS:
            problems.append(f"{label}.channel : canal inconnu {_shown(channel)} (attendu : email, paper)")
        if category is not None:
            if category not in CATEGORIES:
                problems.append(
                    f"{label}.category : catégorie inconnue {_shown(category)} "
                    f"(attendu : information, reclamation, suggestion)"
                )
            elif category in NO_DEADLINE:
                problems.append(f"{label}.category : « {category} » n'a jamais d'échéance")
        if service is not None and (not isinstance(service, str) or not service.strip()):
            problems.append(f"{label}.service : nom de service (texte non vide) attendu")
        description = raw.get("description", "")
        if not isinstance(description, str):
            problems.append(f"{label}.description : texte attendu")
        if len(problems) > before:
            continue
        rule = DeadlineRule(days, channel, category, service.strip() if service else None, description, index)
        if rule.key in seen:
            problems.append(
                f"{label} : mêmes critères que rule[{seen[rule.key]}] "
                f"({_criteria(rule)}) : règle ambiguë, n'en garder qu'une"
            )
            continue
        seen[rule.key] = index
        rules.append(rule)

    if problems:
        raise RulesError(problems)
    return DeadlineRules(defaults, rules, source=name)


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _position(exc: Exception) -> str:
    """' ligne L, colonne C (détail)' from a tomllib error."""
    text = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", text)
    if not found:
        return f" ({text})"
    detail = text[: found.start()].strip()
    return f", ligne {found.group(1)}, colonne {found.group(2)} ({detail})"


def _shown(value) -> str:
    return f"« {value} »" if isinstance(value, str) else repr(value)


def _criteria(rule: DeadlineRule) -> str:
    given = [f"{k} = {v}" for k, v in zip(("channel", "category", "service"), rule.key) if v is not None]
    return ", ".join(given) if given else "aucun critère"

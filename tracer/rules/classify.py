"""The classification engine: declarative rules from ``rules/*.toml``.

One small engine, rules as data (see ``rules/README.md``). Every rule is
compiled and checked at load; a bad rule refuses the whole set with French
lines naming file, rule and key. Classifying records every rule evaluated,
hit or miss and why, so each decision explains itself afterwards.

Category rules are tried by decreasing priority; the first that matches
decides. None matching means ``information``: when unsure, a perimeter
category (losing a citizen's request is worse than counting an auto-reply).
Topic rules then give complaints and suggestions their topic.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tracer.core.text import decode_header_value
from tracer.rules.literals import INDEX, required_literals
from tracer.rules.scorer import features
from tracer.rules.vocabulary import CATEGORIES, DEFAULT_TOPIC, TOPIC_CATEGORIES, is_topic, topic_ids, topic_label
from tracer.rules.errors import RulesError

DEFAULT_CATEGORY = "information"
MODEL_ID = "modele"          # in rule_ids: the learned scorer chose the category
TOPIC_MODEL_ID = "modele-theme"  # …and the topic
NOT_AUTOMATIC = frozenset(c for c in CATEGORIES if c != "automatique")
# The margin (score of automatique minus the runner-up) the model needs to call
# a message automatic when no rule did. Cross-validation by corpus (7 corpora):
# citizens' messages it took for robots had margins up to 0.2, robots it found
# alone 0.7 to 1.2, but one at 0.1.
AUTOMATIC_MARGIN = 0.5
# Without a topic rule, the model's topic needs this margin over the runner-up.
TOPIC_MARGIN = 0.5
SKIPPED_FILES = {"deadlines.toml"}

RULE_KEYS = {"id", "description", "priority", "category", "topic", "when", "final"}
LEAF_KEYS = {
    "header", "sender_regex", "mailbox",
    "subject_keywords", "subject_regex", "body_keywords", "body_regex", "text_keywords", "text_regex",
    "content_type", "report_type", "has_attachment", "body_max_chars",
}
COMBINATORS = {"all", "any", "not"}

QUOTE_MARKERS = re.compile(
    r"^(le .{3,160} a ecrit\s*:?|on .{3,160} wrote\s*:?"
    r"|-{2,}\s*(original message|message d'origine|message original|message transfere|forwarded message)"
    r"|de\s*:.*@.*|from\s*:.*@.*|envoye\s*:.*|sent\s*:.*)\s*$"
)


class _Folded(dict):
    """``str.translate`` table giving each character its folded form, filled as characters are met:
    its NFKD decomposition without combining marks, casefolded (« É » -> « e », « ß » -> « ss »,
    « ’ » -> « ' »). NFKD decomposes character by character, and its reordering only moves combining
    marks, which are dropped: one pass of the table is the same as NFKD, strip, casefold on the text."""

    def __missing__(self, code: int):
        char = chr(code)
        folded = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        folded = folded.casefold().replace("\u2019", "'")
        value = code if folded == char else (folded or None)
        self[code] = value
        return value


_FOLD = _Folded()


def normalise(text: str | None) -> str:
    """Case- and accent-insensitive form: NFKD, combining marks removed, casefolded."""
    if not text:
        return ""
    if text.isascii():
        return text.lower()  # NFKD changes nothing, and ASCII casefold is lower
    return text.translate(_FOLD)


def _own_lines(probes: list[str]) -> list[int]:
    """Indexes of the writer's own lines, given the lines normalised: quoted ones skipped, history cut."""
    kept: list[int] = []
    for index, probe in enumerate(probes):
        probe = probe.strip()
        if probe.startswith(">"):
            continue
        if kept and QUOTE_MARKERS.match(probe):
            return kept
        kept.append(index)
    return kept


def own_words(body: str) -> tuple[str, str]:
    """The writer's own words (quoted replies and forwarded history removed), as written and normalised.

    The body is normalised once, then cut into lines alongside the original.
    """
    lines = body.splitlines()
    probes = normalise(body).splitlines()
    if len(probes) != len(lines):  # a character whose normal form breaks lines: line by line
        probes = [normalise(line) for line in lines]
    kept = _own_lines(probes)
    return "\n".join(lines[i] for i in kept), "\n".join(probes[i] for i in kept)


# --------------------------------------------------------------------------
# What a rule looks at, computed once per message.


@dataclass
class Facts:
    subject: str
    body: str
    text: str
    raw_body_len: int
    sender: str
    headers: dict[str, list[str]]
    mailbox: set[str]
    content_type: str
    report_type: str
    has_attachment: bool
    words: frozenset = frozenset()  # every word of the text (subject and body), cut once per message
    found: dict = field(default_factory=dict)  # field name -> the indexed literals it holds (literals_in)

    def literals_in(self, field_name: str) -> set[int]:
        """The rules' literals that occur in this field (subject, body or text), found at first use."""
        found = self.found.get(field_name)
        if found is None:
            found = self.found[field_name] = INDEX.present(getattr(self, field_name))
        return found

    @classmethod
    def of(cls, msg, mailbox_name: str | None, mailbox_address: str | None) -> "Facts":
        headers: dict[str, list[str]] = {}
        pairs = getattr(msg, "raw_headers", None)
        if pairs is None:  # any object with decoded ``headers`` will do
            pairs = getattr(msg, "headers", []) or []
        for name, value in pairs:  # decoded lazily, when a rule reads the value
            headers.setdefault(name.lower(), []).append(value or "")
        for name, value in (getattr(msg, "auto_headers", {}) or {}).items():
            headers.setdefault(name.lower(), [value or ""])
        own, body = own_words(msg.body_text or "")
        subject = normalise(msg.subject)
        return cls(
            subject=subject,
            body=body,
            text=f"{subject}\n{body}",
            raw_body_len=len(own.strip()),
            sender=normalise(msg.from_addr),
            headers=headers,
            mailbox={normalise(v) for v in (mailbox_name, mailbox_address) if v},
            content_type=(msg.content_type or "").lower(),
            report_type=(msg.report_type or "").lower(),
            has_attachment=bool(msg.attachments),
            words=frozenset(WORDS.findall(f"{subject}\n{body}")),
        )


# --------------------------------------------------------------------------
# Conditions: compiled closures returning the reason of a hit, or None.

Check = Callable[[Facts], "str | None"]


WORDS = re.compile(r"\w+")


class Matcher:
    """A compiled expression that is not run on a text lacking all of its
    required literals (tracer.literals): same matches, far fewer searches.

    A list of keywords also knows the words one of which opens every match
    (``first_words``): a message none of whose words is among them cannot
    match, which one set operation on the message's words (Facts.words, cut
    once) tells, where a long alternation would be tried at every position."""

    __slots__ = ("pattern", "literals", "first_words", "literal_ids")

    def __init__(self, pattern: re.Pattern, first_words: frozenset | None = None):
        self.pattern = pattern
        self.literals = required_literals(pattern.pattern)
        self.first_words = first_words
        self.literal_ids = INDEX.ids(self.literals) if self.literals else None

    def search_facts(self, facts: "Facts", field_name: str):
        """``search`` on a field of the message; its literals are looked up among those the field
        holds (found once per field and message, tracer.rules.literals.LiteralIndex)."""
        first = self.first_words
        if first is not None and first.isdisjoint(facts.words):
            return None
        ids = self.literal_ids
        if ids is not None and ids.isdisjoint(facts.literals_in(field_name)):
            return None
        return self.pattern.search(getattr(facts, field_name))

    def findall_facts(self, facts: "Facts", field_name: str) -> list:
        first = self.first_words
        if first is not None and first.isdisjoint(facts.words):
            return []
        ids = self.literal_ids
        if ids is not None and ids.isdisjoint(facts.literals_in(field_name)):
            return []
        return self.pattern.findall(getattr(facts, field_name))

    def _possible(self, text: str) -> bool:
        # map over the bound ``__contains__``: the loop stays in C (a generator cost more than the searches)
        return self.literals is None or any(map(text.__contains__, self.literals))

    def search(self, text: str):
        literals = self.literals
        if literals is None or any(map(text.__contains__, literals)):
            return self.pattern.search(text)
        return None

    def findall(self, text: str) -> list:
        return self.pattern.findall(text) if self._possible(text) else []


def _keywords(words: Any, where: str, problems: list[str], label: str) -> Matcher:
    if isinstance(words, str):
        words = [words]
    if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
        problems.append(f"{label}.{where} : liste de mots-clés non vide attendue")
        return Matcher(re.compile(r"(?!x)x"))
    parts = []
    first_words: frozenset | None = frozenset()
    for word in words:
        word = normalise(word.strip())
        tokens = re.split(r"([ \-'*])", word)
        atoms = []
        for t in tokens:
            separator = _SEPARATORS.get(t)
            if separator is not None:
                atoms.append((False, separator))
            else:
                atoms.extend((True, re.escape(c)) for c in t)  # one literal character each
        parts.append(atoms)
        if first_words is not None:
            needed = _needed_words(tokens)
            first_words = None if needed is None else first_words | needed
    return Matcher(re.compile(r"(?<![\w])(?:" + _factored(parts) + r")(?![\w])"), first_words)


_SEPARATORS = {" ": r"[\s\-']+", "-": r"[\s\-]?", "'": r"['\s]?", "*": r"\w*"}


def _factored(alternatives: list[list[tuple[bool, str]]]) -> str:
    r"""An alternation of keywords (each a list of atoms: (is one literal character, its regex)) with
    their common literal prefixes factored out, matching exactly what the plain alternation matches.

    « reclamation|reclamations|rendez-vous » becomes « re(?:clamation(?:|s)|ndez[\s\-]?vous) »: the
    engine, trying each position of the text, then tests a few first letters instead of every keyword
    in turn. The same text matches at the same place with the same keyword: alternatives are only
    grouped on a literal character (one way to match it), and one moves ahead of another only when
    their first characters differ (they cannot both match at the same place), so the first keyword
    that matches at a position, in the list's order, is still the one that matches."""
    groups: list[tuple[str | None, list]] = []  # (the literal first character, or None: kept alone, items)
    for atoms in alternatives:
        key = atoms[0][1] if atoms and atoms[0][0] else None
        target = None
        if key is not None:
            for index in range(len(groups) - 1, -1, -1):
                other = groups[index][0]
                if other == key:
                    target = index
                    break
                if other is None:  # an item that may match anywhere: nothing moves ahead of it
                    break
        if target is None:
            groups.append((key, [atoms]))
        else:
            groups[target][1].append(atoms)
    out = []
    for key, items in groups:
        if key is None or len(items) == 1:
            out.extend("".join(regex for _literal, regex in atoms) for atoms in items)
        else:
            rest = _factored([atoms[1:] for atoms in items])
            out.append(key + (f"(?:{rest})" if _is_alternation(rest) else rest))
    return "|".join(out)


def _is_alternation(regex: str) -> bool:
    """Whether a regex built by _factored has a « | » outside any group (an escaped one is a letter)."""
    depth, i = 0, 0
    while i < len(regex):
        char = regex[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":  # a class: up to its closing bracket
            i = regex.index("]", i + 2 if regex[i + 1] == "]" else i + 1) + 1
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        i += 1
    return False


_WORD_ONLY = re.compile(r"\w+")
# Words too common to tell messages apart: a keyword is known by another of its words when it has one.
_COMMON = frozenset("a au aux c ce cette d de des du en est et il j je l la le les lui m ma me mes mon n ne "
                    "nos notre nous on par pas plus pour qu que qui s sa se ses son sur un une vos votre vous".split())


def _needed_words(tokens: list[str]) -> frozenset | None:
    """Words of a text, one of which is in every match of a keyword (its pieces cut on separators, kept).

    A piece between two required separators (a space in the keyword: « [\\s\\-']+ ») or at an end is a
    whole word of any text it matches: the longest uncommon one is enough. Otherwise, the words a
    match opens with (_opening_words).
    """
    best = None
    for k in range(0, len(tokens), 2):
        word = tokens[k]
        left = tokens[k - 1] if k > 0 else None
        right = tokens[k + 1] if k + 1 < len(tokens) else None
        if left not in (None, " ") or right not in (None, " ") or not _WORD_ONLY.fullmatch(word):
            continue
        if right is None and k + 1 < len(tokens):
            continue
        key = (word not in _COMMON, len(word))
        if best is None or key > best[0]:
            best = (key, word)
    if best is not None:
        return frozenset([best[1]])
    return _opening_words(tokens)


def _opening_words(tokens: list[str]) -> frozenset | None:
    """The words of a text one of which every match of a keyword starts with (its pieces cut on
    separators, kept): its first word, or that word joined to the next ones across an optional « - » or
    « ' »; None when a wildcard or a character outside words makes it unknowable."""
    if not tokens or not _WORD_ONLY.fullmatch(tokens[0]):
        return None
    word, out, i = tokens[0], {tokens[0]}, 1
    while i < len(tokens):
        sep = tokens[i]
        if sep == "*":
            return None
        if sep == " " or sep == "":
            break
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if not _WORD_ONLY.fullmatch(nxt):
            return None
        word += nxt
        out.add(word)
        i += 2
    if i < len(tokens) and tokens[i] == "" and i + 1 < len(tokens) and tokens[i + 1] == "*":
        return None
    return frozenset(out)


def _regex(pattern: Any, where: str, problems: list[str], label: str) -> Matcher:
    if not isinstance(pattern, str):
        problems.append(f"{label}.{where} : expression régulière (texte) attendue")
        return Matcher(re.compile(r"(?!x)x"))
    try:
        return Matcher(re.compile(normalise(pattern), re.MULTILINE))
    except re.error as exc:
        problems.append(f"{label}.{where} : expression régulière invalide ({exc})")
        return Matcher(re.compile(r"(?!x)x"))


def _category_fr(code: str) -> str:
    from tracer.core.french import category

    return category(code)


FIELD_FR = {"text": "le texte", "subject": "l'objet", "body": "le corps du message"}


def _search_facts(pattern: Matcher, facts: "Facts", field_name: str) -> str | None:
    found = pattern.search_facts(facts, field_name)
    if found:
        return f"{FIELD_FR.get(field_name, field_name)} contient « {found.group(0).strip()[:60]} »"
    return None


def _search(pattern: Matcher, text: str, field_name: str) -> str | None:
    found = pattern.search(text)
    if found:
        return f"{FIELD_FR.get(field_name, field_name)} contient « {found.group(0).strip()[:60]} »"
    return None


def _compile_header(spec: Any, problems: list[str], label: str) -> Check:
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        problems.append(f"{label}.header : nom d'en-tête attendu (header = \"Nom\" ou {{ name = …, regex = … }})")
        return lambda f: None
    unknown = set(spec) - {"name", "regex", "equals", "exists"}
    for key in sorted(unknown):
        problems.append(f"{label}.header.{key} : clé inconnue")
    name = spec["name"].lower()
    pattern = _regex(spec["regex"], "header.regex", problems, label) if "regex" in spec else None
    equals = normalise(spec["equals"]).strip() if isinstance(spec.get("equals"), str) else None

    def check(f: Facts) -> str | None:
        values = f.headers.get(name)
        if not values:
            return None
        for value in values:
            probe = normalise(decode_header_value(value)).strip()
            if pattern is not None and not pattern.search(probe):
                continue
            if equals is not None and probe != equals:
                continue
            return f"en-tête {spec['name']}: {value[:60]}"
        return None

    return check


# What a condition costs, roughly: an `all` tries its cheap conditions first
# (its reasons are still given in the order the rule writes them).
CHEAP, SUBJECT, KEYWORDS, REGEX = 0, 1, 2, 3


def _costed(check: Check, cost: int) -> Check:
    check.cost = cost
    return check


def compile_condition(node: Any, problems: list[str], label: str, collect: list | None = None) -> Check:
    if not isinstance(node, dict) or not node:
        problems.append(f"{label} : table de conditions attendue")
        return _costed(lambda f: None, CHEAP)
    checks: list[Check] = []
    for key, value in node.items():
        where = f"{label}.{key}"
        if key in ("all", "any"):
            items = value if isinstance(value, list) else None
            if not items:
                problems.append(f"{where} : liste de conditions attendue")
                continue
            subs = [compile_condition(v, problems, f"{where}[{i}]", collect) for i, v in enumerate(items, start=1)]
            checks.append(_all(subs) if key == "all" else _any(subs))
        elif key == "not":
            checks.append(_not(compile_condition(value, problems, where)))
        elif key == "header":
            checks.append(_costed(_compile_header(value, problems, label), CHEAP))
        elif key in ("subject_keywords", "body_keywords", "text_keywords"):
            pattern, field_name = _keywords(value, key, problems, label), key.split("_")[0]
            if collect is not None:
                collect.append((pattern, field_name))
            cost = SUBJECT if field_name == "subject" else KEYWORDS
            checks.append(_costed(lambda f, p=pattern, n=field_name: _search_facts(p, f, n), cost))
        elif key in ("subject_regex", "body_regex", "text_regex"):
            pattern, field_name = _regex(value, key, problems, label), key.split("_")[0]
            cost = SUBJECT if field_name == "subject" else REGEX
            checks.append(_costed(lambda f, p=pattern, n=field_name: _search_facts(p, f, n), cost))
        elif key == "sender_regex":
            pattern = _regex(value, key, problems, label)
            checks.append(_costed(lambda f, p=pattern: _search(p, f.sender, "expéditeur"), CHEAP))
        elif key == "mailbox":
            names = {normalise(v) for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)}
            if not names:
                problems.append(f"{where} : nom ou adresse de boîte attendu")
            checks.append(_costed(lambda f, n=names: f"boîte {sorted(f.mailbox & n)[0]}" if f.mailbox & n else None, CHEAP))
        elif key in ("content_type", "report_type"):
            wanted = {v.lower() for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)}
            if not wanted:
                problems.append(f"{where} : type attendu")
            checks.append(_costed(lambda f, w=wanted, k=key: f"{k} = {getattr(f, k)}" if getattr(f, k) in w else None, CHEAP))
        elif key == "has_attachment":
            if not isinstance(value, bool):
                problems.append(f"{where} : booléen attendu")
            checks.append(_costed(lambda f, v=value: "pièce jointe" if f.has_attachment == v else None, CHEAP))
        elif key == "body_max_chars":
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                problems.append(f"{where} : entier positif attendu")
                value = 0
            checks.append(_costed(lambda f, v=value: f"corps court ({f.raw_body_len} caractères)" if f.raw_body_len <= v else None, CHEAP))
        else:
            problems.append(f"{where} : clé inconnue")
    return checks[0] if len(checks) == 1 else _all(checks)


def _all(checks: list[Check]) -> Check:
    """Every condition holds; tried cheapest first, reasons in the rule's order."""
    order = sorted(range(len(checks)), key=lambda i: checks[i].cost)

    def check(f: Facts) -> str | None:
        reasons: list[str | None] = [None] * len(checks)
        for i in order:
            reason = checks[i](f)
            if reason is None:
                return None
            reasons[i] = reason
        return " et ".join(reasons) if reasons else None

    return _costed(check, max((c.cost for c in checks), default=CHEAP))


def _any(checks: list[Check]) -> Check:
    """The first condition that holds, in the rule's order (it gives the reason)."""
    def check(f: Facts) -> str | None:
        for c in checks:
            reason = c(f)
            if reason is not None:
                return reason
        return None

    return _costed(check, max((c.cost for c in checks), default=CHEAP))


def _not(inner: Check) -> Check:
    return _costed(lambda f: "condition contraire absente" if inner(f) is None else None, inner.cost)


# --------------------------------------------------------------------------
# Rules and rule sets.


@dataclass
class Rule:
    id: str
    description: str
    priority: int
    category: str | None
    topic: str | None
    check: Check
    source: str
    patterns: list = field(default_factory=list)
    final: bool = False

    def score(self, facts: "Facts") -> int:
        """How strongly a topic rule applies: keyword hits, the subject counting double."""
        total = 0
        for pattern, field_name in self.patterns:
            total += len(pattern.findall_facts(facts, field_name))
            if field_name == "text":
                total += len(pattern.findall_facts(facts, "subject"))
        return total


@dataclass
class TraceLine:
    rule: str
    hit: bool
    why: str | None


@dataclass
class Decision:
    category: str
    topic: str | None
    rule_ids: list[str]
    trace: list[TraceLine] = field(default_factory=list)
    features: list[str] | None = None        # what the model weighed for the category, when it decided
    topic_features: list[str] | None = None  # …and for the topic
    traced: bool = True                       # False: made without its trace (RuleSet.classify)


class RuleSet:
    """The rules, and the learned scorer (tracer.rules.scorer) when one is given.

    Without a model, the first category rule that applies decides (as the
    rules alone always did). With one, only a ``final`` rule decides alone;
    otherwise the first rule that applies is one cue among the model's.
    """

    def __init__(self, rules: list[Rule], model=None, model_source: str | None = None):
        self.category_rules = sorted((r for r in rules if r.category), key=lambda r: -r.priority)
        self.topic_rules = sorted((r for r in rules if r.topic), key=lambda r: -r.priority)
        self.model = model
        self.model_source = model_source

    def with_model(self, model, source: str | None = None) -> "RuleSet":
        other = RuleSet([], model, source)
        other.category_rules, other.topic_rules = self.category_rules, self.topic_rules
        return other

    def __len__(self) -> int:
        return len(self.category_rules) + len(self.topic_rules)

    def classify(self, msg, mailbox_name: str | None = None, mailbox_address: str | None = None,
                 trace: bool = True) -> Decision:
        """The message's decision for that mailbox. It is kept on the message, so
        a message classified once (in the worker that parsed it, say) is not
        classified again. ``trace=False`` (a poll): without the list of the rules
        evaluated, which only an explanation (``explain``) reads; a decision asked
        later with its trace is then made again."""
        decisions = msg.__dict__.setdefault("_decisions", {}) if hasattr(msg, "__dict__") else {}
        key = (mailbox_name, mailbox_address)
        known = decisions.get(key)
        if known is None or trace and not known.traced:
            known = decisions[key] = self._classify(msg, mailbox_name, mailbox_address, trace)
        return known

    def first_rule(self, facts: Facts, trace: list[TraceLine] | None = None) -> Rule | None:
        """The first category rule that applies (by decreasing priority), or None."""
        for rule in self.category_rules:
            why = rule.check(facts)
            if trace is not None:
                trace.append(TraceLine(rule.id, why is not None, why))
            if why is not None:
                return rule
        return None

    def _classify(self, msg, mailbox_name: str | None, mailbox_address: str | None, traced: bool = True) -> Decision:
        facts = Facts.of(msg, mailbox_name, mailbox_address)
        trace: list[TraceLine] | None = [] if traced else None
        rule = self.first_rule(facts, trace)
        model = self.model
        feats = None
        if rule is not None and (rule.final or model is None):
            category, rule_ids = rule.category, [rule.id]
        elif model is None:
            category, rule_ids = DEFAULT_CATEGORY, []
            if trace is not None:
                trace.append(TraceLine("defaut", True, "aucune règle ne s'applique : demande d'information"))
        else:
            feats = features(facts, rule)
            scored = model.category.decide(feats)
            if scored.label == "automatique" and scored.margin < AUTOMATIC_MARGIN and (
                    rule is None or rule.category != "automatique"):
                # Automatic mail is never answered: without a rule saying so,
                # the model must be clearly sure to take a message for a robot.
                scored = model.category.decide(feats, NOT_AUTOMATIC)
            category, rule_ids = scored.label, [MODEL_ID]
            if trace is not None:
                trace.append(TraceLine(MODEL_ID, True, f"le modèle appris choisit « {_category_fr(category)} » (écart {scored.margin:.2f})".replace(".", ",")))
        category_feats, topic_feats = feats, None
        topic = None
        if category in TOPIC_CATEGORIES:
            best = self._topic_rule(facts, trace)
            if model is not None:
                if feats is None:
                    feats = features(facts, rule)
                topic_feats = feats + (["rt:" + best.topic] if best is not None else [])
                scored = model.topic.decide(topic_feats)
                topic = scored.label
                if best is None and scored.margin < TOPIC_MARGIN:
                    topic = DEFAULT_TOPIC  # no rule and no clear cue: « autre », not a guess
                rule_ids.append(TOPIC_MODEL_ID)
            elif best is not None:
                topic = best.topic
                rule_ids.append(best.id)
            else:
                topic = DEFAULT_TOPIC
        return Decision(category, topic, rule_ids, trace if traced else [], category_feats, topic_feats, traced)

    def _topic_rule(self, facts: Facts, trace: list[TraceLine] | None) -> Rule | None:
        """The topic rule that applies most strongly (keyword hits), then by priority."""
        best, best_key = None, None
        for rule in self.topic_rules:
            why = rule.check(facts)
            score = rule.score(facts) if why is not None else 0
            if trace is not None:
                trace.append(TraceLine(rule.id, why is not None, f"{why} (score {score})" if why else None))
            if why is not None and (best_key is None or (score, rule.priority) > best_key):
                best, best_key = rule, (score, rule.priority)
        return best

    def explain(self, decision: Decision) -> str:
        from tracer.rules.scorer import feature_label

        from tracer.core.french import category as category_fr

        lines = [f"Catégorie : {category_fr(decision.category)}" + (f" (thème : {topic_label(decision.topic)})" if decision.topic else "")]
        decided = [r for r in decision.rule_ids if r not in (MODEL_ID, TOPIC_MODEL_ID)]
        if MODEL_ID in decision.rule_ids:
            lines.append("Décision : le modèle appris (aucune règle finale ne s'applique)")
        lines.append("Règles décisives : " + (", ".join(decided) or ("aucune" if self.model else "aucune (catégorie par défaut)")))
        for title, linear, feats, label in (
            ("Indices qui ont le plus pesé pour la catégorie", self.model and self.model.category, decision.features, decision.category),
            ("Indices qui ont le plus pesé pour le thème", self.model and self.model.topic, decision.topic_features, decision.topic),
        ):
            if linear is None or feats is None:
                continue
            scored = linear.decide(feats, explain=True)
            lines.append(f"{title} ({topic_label(label) if linear is self.model.topic else category_fr(label)}) :")
            for name, weight in scored.cues:
                lines.append(f"  + {feature_label(name)} ({weight:+.2f})".replace(f"{weight:+.2f}", f"{weight:+.2f}".replace(".", ",")))
            if not scored.cues:
                lines.append("  (aucun indice marquant)")
        if self.model_source:
            lines.append(f"Modèle : {self.model_source}")
        lines.append("Règles évaluées :")
        for line in decision.trace:
            mark = "✔" if line.hit else "·"
            lines.append(f"  {mark} {line.rule}" + (f" — {line.why}" if line.why else " — ne s'applique pas"))
        return "\n".join(lines)


def load_rules(rules_dir: Path, data_dir: Path | None = None, model: Any = "auto") -> RuleSet:
    """The rules of ``rules_dir``, checked, and the scorer.

    ``model="auto"``: the data folder's own model (``tracer rules train``) if
    it is valid, else the one shipped with tracer; ``None``: the rules alone;
    or a tracer.rules.scorer.Model.
    """
    ruleset = _load_rules(Path(rules_dir))
    if model == "auto":
        from tracer.rules.scorer import load_model

        found, source = load_model(data_dir)
        return ruleset.with_model(found, source)
    return ruleset.with_model(model, "donné" if model is not None else None)


def _load_rules(rules_dir: Path) -> RuleSet:
    problems: list[str] = []
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    if not rules_dir.is_dir():
        raise RulesError([f"{rules_dir} : dossier de règles introuvable"])
    for path in sorted(rules_dir.glob("*.toml")):
        if path.name in SKIPPED_FILES:
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name} : syntaxe TOML invalide ({exc})")
            continue
        unknown = set(data) - {"rule"}
        for key in sorted(unknown):
            problems.append(f"{path.name}, {key} : section inconnue (seules les [[rule]] sont permises)")
        for index, raw in enumerate(data.get("rule", []), start=1):
            rule = _compile_rule(raw, path.name, index, problems)
            if rule is None:
                continue
            if rule.id in seen:
                problems.append(f"{path.name}, règle \"{rule.id}\", id : identifiant déjà utilisé dans {seen[rule.id]}")
            seen[rule.id] = path.name
            rules.append(rule)
    if problems:
        raise RulesError(problems)
    return RuleSet(rules)


def _compile_rule(raw: Any, filename: str, index: int, problems: list[str]) -> Rule | None:
    if not isinstance(raw, dict):
        problems.append(f"{filename}, rule[{index}] : table attendue")
        return None
    rid = raw.get("id")
    if not isinstance(rid, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", rid or ""):
        problems.append(f"{filename}, rule[{index}], id : identifiant attendu (minuscules, chiffres, - ou _)")
        rid = f"rule[{index}]"
    label = f"{filename}, règle \"{rid}\""
    for key in sorted(set(raw) - RULE_KEYS):
        problems.append(f"{label}, {key} : clé inconnue")
    category, topic = raw.get("category"), raw.get("topic")
    if (category is None) == (topic is None):
        problems.append(f"{label} : indiquez soit category, soit topic")
    if category is not None and category not in CATEGORIES:
        problems.append(f"{label}, category : catégorie inconnue « {category} » (attendu : {', '.join(CATEGORIES)})")
    if topic is not None and not is_topic(topic):
        problems.append(f"{label}, topic : thème inconnu « {topic} » (attendu : {', '.join(topic_ids())})")
    final = raw.get("final", False)
    if not isinstance(final, bool):
        problems.append(f"{label}, final : booléen attendu (true ou false)")
        final = False
    if final and category is None:
        problems.append(f"{label}, final : seule une règle de catégorie peut être finale")
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        problems.append(f"{label}, priority : entier attendu")
        priority = 0
    when = raw.get("when")
    if when is None:
        problems.append(f"{label}, when : conditions manquantes")
        return None
    patterns: list = []
    check = compile_condition(when, problems, f"{label}, when", patterns)
    return Rule(rid, str(raw.get("description", "")), priority, category, topic, check, filename, patterns, final)

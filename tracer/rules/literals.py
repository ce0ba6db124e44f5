"""Literal strings that every match of a regular expression must contain.

The classification rules run every one of their expressions on every message.
Python's regex engine tries each position of the text, and an expression that
opens with a look-behind or an alternation of classes cannot skip ahead; but a
plain ``in`` on the text finds a literal at memory speed. So each expression
gets, when one can be proven, a small set of literals at least one of which
appears in any match: a text holding none of them cannot match, and the
expression is not run at all. The result is the same, by construction.
"""

from __future__ import annotations

from re import _constants as sre
from re import _parser as sre_parse

MIN_LENGTH = 3  # shorter literals filter too little to pay for the check
MAX_LITERALS = 12  # beyond this, the checks cost more than the search


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Literals, one of which is in every match of ``pattern``; None when none can be proven."""
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return None
    if parsed.state.flags & (sre.SRE_FLAG_IGNORECASE | sre.SRE_FLAG_VERBOSE):
        return None
    found = _sequence(list(parsed))
    if not found or min(len(s) for s in found) < MIN_LENGTH or len(found) > MAX_LITERALS:
        return None
    return tuple(sorted(found, key=len, reverse=True))


def _better(candidate: frozenset[str] | None, best: frozenset[str] | None) -> bool:
    if not candidate:
        return False
    if best is None:
        return True
    return (min(map(len, candidate)), -len(candidate)) > (min(map(len, best)), -len(best))


def _sequence(items: list) -> frozenset[str] | None:
    """The best literal set among the items of a sequence (each one is required)."""
    best: frozenset[str] | None = None
    run: list[str] = []

    def consider(candidate: frozenset[str] | None) -> None:
        nonlocal best
        if _better(candidate, best):
            best = candidate

    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        if run:
            consider(frozenset(["".join(run)]))
            run = []
        consider(_item(op, av))
    if run:
        consider(frozenset(["".join(run)]))
    return best


def _item(op, av) -> frozenset[str] | None:
    """What one item of a sequence requires (None: nothing provable)."""
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, inner = av
        if add_flags & sre.SRE_FLAG_IGNORECASE:
            return None
        return _sequence(list(inner))
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(av))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _high, inner = av
        return _sequence(list(inner)) if low >= 1 else None
    if op is sre.BRANCH:
        alternatives = [_sequence(list(alt)) for alt in av[1]]
        if not alternatives or not all(alternatives):
            return None
        return frozenset().union(*alternatives)
    return None  # classes, any, anchors, assertions, back-references: nothing required


class LiteralIndex:
    """Every required literal of the loaded rules, found in a text in one pass (Aho-Corasick).

    Checking a dozen literals with ``in`` scans the text a dozen times, for each
    expression of each rule tried: on a message that none of them is in (the
    common case for a rule that does not apply), that costs more than the
    search it spares. One pass of the automaton over the text gives the numbers
    of all the literals it holds; an expression whose literals are all absent
    is not run (``Matcher.search_facts``). The answer is the same as ``in``'s.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._built: tuple | None = None  # (automaton, how many literals it holds): rebuilt when more were added

    def ids(self, literals: tuple[str, ...]) -> frozenset[int]:
        """The numbers of these literals, added to the index if new."""
        out = set()
        for literal in literals:
            number = self._ids.get(literal)
            if number is None:
                number = self._ids[literal] = len(self._ids)
            out.add(number)
        return frozenset(out)

    def present(self, text: str) -> set[int]:
        """The numbers of the indexed literals that occur in ``text``."""
        built = self._built
        if built is None or built[1] != len(self._ids):  # literals are only ever added: same count, same set
            import ahocorasick

            automaton = ahocorasick.Automaton()
            literals = dict(self._ids)  # the rules loading in another thread may add more: built again then
            for literal, number in literals.items():
                automaton.add_word(literal, number)
            automaton.make_automaton()
            built = self._built = (automaton, len(literals))  # replaced whole: a thread reading the old one goes on
        automaton = built[0]
        if not text:
            return set()
        return {number for _end, number in automaton.iter(text)}


INDEX = LiteralIndex()

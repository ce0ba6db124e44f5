"""The literal pre-filter of the rules' expressions never hides a match."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings, strategies as st

from corpus_classification import messages
from tracer.rules import classify
from tracer.core import paths
from tracer.rules.literals import required_literals
from tracer.mail.parse import parse


def test_what_is_required_and_what_is_not():
    assert required_literals(r"(?<!la )(?<!une )\bpersonne (ne|n.)\b") == ("personne ",)
    assert set(required_literals(r"\b(\d+|deux) fois\b|\ba chaque fois\b")) == {" fois", "a chaque fois"}
    assert set(required_literals(r"x*abc|def")) == {"abc", "def"}
    assert required_literals(r"a{0,3}bcd") == ("bcd",)
    assert required_literals(r"(?:abc)?def") == ("def",)
    assert required_literals(r"abc|d") is None  # one branch requires nothing worth checking
    assert required_literals(r"(?i)abcdef") is None and required_literals(r"(?i:abcdef)") is None
    assert required_literals(r"(?=abcdef)\w+") is None  # a look-ahead is not part of the match


# Expressions built from pieces that matter: words, classes, optional parts,
# alternations, repeats, anchors and look-arounds.
WORD = st.sampled_from(["fois", "personne", "rendez-vous", "dossier", "a", "bc", "deux", "n'a", "é"]).map(re.escape)
ATOM = st.one_of(
    WORD,
    st.sampled_from([r"\d+", r"\s", r"[a-z]", r"\w*", r"\b", r".", r"(?<!la )", r"(?![^.?!\n]{0,5}\?)"]),
)


def _expression():
    return st.recursive(
        st.lists(ATOM, min_size=1, max_size=4).map("".join),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(lambda parts: "(?:" + "|".join(parts) + ")"),
            inner.map(lambda p: f"(?:{p})?"),
            inner.map(lambda p: f"(?:{p}){{1,3}}"),
            st.lists(inner, min_size=2, max_size=3).map("".join),
        ),
        max_leaves=8,
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data(), expression=_expression())
def test_a_text_without_the_literals_never_matches(data, expression):
    literals = required_literals(expression)
    if literals is None:
        return
    pattern = re.compile(expression)
    text = data.draw(st.text(alphabet="abcdefimnoprstuvxz ?.'-é0123456789\n", max_size=60))
    for literal in literals[:2]:  # texts with and without the literals, around them
        text = data.draw(st.sampled_from([text, text + literal, literal + text, text[: len(text) // 2] + literal]))
    if pattern.search(text):
        assert any(literal in text for literal in literals), (expression, text, literals)


def test_shipped_rules_decide_the_same_with_and_without_the_filter(monkeypatch):
    matchers = []
    real_init = classify.Matcher.__init__

    def recording_init(self, pattern, first_words=None):
        real_init(self, pattern, first_words)
        matchers.append(self)

    monkeypatch.setattr(classify.Matcher, "__init__", recording_init)
    classify.load_rules(paths.default_rules_dir())
    facts = [classify.Facts.of(parse(raw), "accueil", "prefecture@haute-savoie.gouv.fr") for *_, raw in messages()]
    filtered = [m for m in matchers if m.literals]
    assert len(filtered) > 20  # most expressions of the shipped rules get a filter
    for matcher in filtered:
        for f in facts:
            for text in (f.subject, f.body, f.text):
                assert bool(matcher.search(text)) == bool(matcher.pattern.search(text)), matcher.pattern.pattern[:80]
    # Keywords skipped on the message's words (Facts.words) give the same matches and counts too.
    by_words = [m for m in matchers if m.first_words]
    assert len(by_words) > 20
    for matcher in by_words:
        for f in facts:
            for name in ("subject", "body", "text"):
                text = getattr(f, name)
                assert bool(matcher.search_facts(f, name)) == bool(matcher.pattern.search(text)), matcher.pattern.pattern[:80]
                assert len(matcher.findall_facts(f, name)) == len(matcher.pattern.findall(text))


KEYWORD = st.lists(st.sampled_from(["re", "clam", "ation", "s", " ", "-", "'", "*", "é", "a"]), min_size=1, max_size=5).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(KEYWORD.filter(str.strip), min_size=1, max_size=8),
       text=st.text(alphabet="reclamations -'éa\n", max_size=50))
def test_factored_keywords_match_what_the_plain_alternation_matches(words, text):
    """Same matches, same places, same keyword: the reason of a rule (« le texte contient « … » ») and
    a topic rule's count do not change."""
    factored = classify._keywords(words, "text_keywords", [], "x").pattern
    pieces = []
    for word in words:
        tokens = re.split(r"([ \-'*])", classify.normalise(word.strip()))
        pieces.append("".join({" ": r"[\s\-']+", "-": r"[\s\-]?", "'": r"['\s]?", "*": r"\w*"}.get(t, re.escape(t)) for t in tokens))
    plain = re.compile(r"(?<![\w])(?:" + "|".join(pieces) + r")(?![\w])")
    text = classify.normalise(text)
    assert [m.span() for m in factored.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_a_keyword_list_is_factored_on_its_first_letters():
    pattern = classify._keywords(["reclamation", "reclamations", "rendez-vous", "honte"], "k", [], "x").pattern.pattern
    assert pattern == r"(?<![\w])(?:re(?:clamation(?:|s)|ndez[\s\-]?vous)|honte)(?![\w])"


def test_the_literal_index_finds_what_in_finds():
    from tracer.rules.literals import LiteralIndex

    index = LiteralIndex()
    literals = ("personne ", "e meme", "fois", "la meme", "vous")
    ids = dict(zip(literals, (min(index.ids((lit,))) for lit in literals)))
    for text in ("", "la meme personne ", "deux fois vous", "personne", "les memes"):
        assert index.present(text) == {ids[lit] for lit in literals if lit in text}, text
    ids["nouveau"] = min(index.ids(("nouveau",)))  # added after a search: the automaton is rebuilt
    assert index.present("a nouveau") == {ids["nouveau"]}


def test_shipped_rules_decide_the_same_through_the_literal_index():
    """Each expression's search on a message's field, through the index, is its plain search."""
    matchers = []
    real_init = classify.Matcher.__init__

    def recording_init(self, pattern, first_words=None):
        real_init(self, pattern, first_words)
        matchers.append(self)

    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(classify.Matcher, "__init__", recording_init)
        classify.load_rules(paths.default_rules_dir())
    facts = [classify.Facts.of(parse(raw), "accueil", None) for *_, raw in messages()]
    indexed = [m for m in matchers if m.literal_ids]
    assert len(indexed) > 20
    for matcher in indexed:
        for f in facts:
            for name in ("subject", "body", "text"):
                found, plain = matcher.search_facts(f, name), matcher.pattern.search(getattr(f, name))
                assert (found and found.span()) == (plain and plain.span()), matcher.pattern.pattern[:80]

"""The parser's fast paths give exactly what the full parsers give."""

from hypothesis import given, settings, strategies as st

from tracer.core.text import clean
from tracer.mail.parse import _read_rfc5322, _read_simple, read_addresses

# Letters, accents, encoded words, and every character that matters to an address parser.
ALPHABET = st.sampled_from(
    list("abzAZéÉçœ09 ._-+='\t\"<>@,;:()[]\\") + ["jean", "dupont", "@gouv.fr", " <", ">", "=?utf-8?q?L=C3=A9a?=", "=?utf-8?b?w6k=?="]
)
TEXT = st.lists(ALPHABET, max_size=30).map("".join)


def normalised(found):
    return [(clean(name) or None, addr.lower()) for name, addr in found]


@settings(max_examples=3000, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=3).map(", ".join))
def test_the_fast_path_reads_what_the_rfc5322_parser_reads(text):
    fast = _read_simple(text)
    if fast is not None:
        assert normalised(fast) == normalised(_read_rfc5322(text))


def test_common_forms_take_the_fast_path_and_agree():
    for text in [
        "Jean Dupont <jean.dupont@exemple.fr>",
        "  Marie-Hélène  L'Hôte   <mh.lhote+pref@mail.exemple.fr> ",
        "usager@exemple.fr",
        "<usager@exemple.fr>",
        "J. P. Martin <jp@exemple.fr>",
        '"Dupont, Jean" <jd@exemple.fr>',
        "=?utf-8?q?Lef=C3=A8vre=2C_St=C3=A9phane?= <s.lefevre@exemple.fr>",
        "a@exemple.fr, Jean Dupont <jd@exemple.fr>",
    ]:
        fast = _read_simple(text)
        assert fast is not None, text
        assert normalised(fast) == normalised(_read_rfc5322(text))
    assert read_addresses("=?utf-8?q?Lef=C3=A8vre=2C_St=C3=A9phane?= <s.lefevre@exemple.fr>") == [
        ("Lefèvre, Stéphane", "s.lefevre@exemple.fr")]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=3000), st.binary(min_size=1, max_size=40).map(lambda b: b * 2000)))
def test_raw_messages_are_stored_so_that_zlib_reads_them_back(raw):
    import zlib

    from tracer.mail.prepare import compress_raw

    assert zlib.decompress(compress_raw(raw)) == raw

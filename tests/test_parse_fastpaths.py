"""The parser's fast paths give exactly what the standard library gives."""

from email.utils import getaddresses, parseaddr

from hypothesis import given, settings, strategies as st

from tracer.mail.parse import split_address, split_addresses

# Letters, accents, and every character that matters to an address parser.
ALPHABET = st.sampled_from(list("abzAZéÉçœ09 ._-+='\t\"<>@,;:()[]\\") + ["jean", "dupont", "@gouv.fr", " <", ">"])
TEXT = st.lists(ALPHABET, max_size=30).map("".join)


@settings(max_examples=3000, deadline=None)
@given(TEXT)
def test_split_address_is_parseaddr(text):
    assert split_address(text) == parseaddr(text)


@settings(max_examples=3000, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=3))
def test_split_addresses_is_getaddresses(texts):
    assert split_addresses(texts) == getaddresses(texts)


def test_common_forms_take_the_fast_path_and_agree():
    for text in [
        "Jean Dupont <jean.dupont@exemple.fr>",
        "  Marie-Hélène  L'Hôte   <mh.lhote+pref@mail.exemple.fr> ",
        "usager@exemple.fr",
        "<usager@exemple.fr>",
        "J. P. Martin <jp@exemple.fr>",
    ]:
        assert split_address(text) == parseaddr(text)
    texts = ["a@exemple.fr, Jean Dupont <jd@exemple.fr>", "B <b@exemple.fr>"]
    assert split_addresses(texts) == getaddresses(texts)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=3000), st.binary(min_size=1, max_size=40).map(lambda b: b * 2000)))
def test_raw_messages_are_stored_so_that_zlib_reads_them_back(raw):
    import zlib

    from tracer.mail.prepare import compress_raw

    assert zlib.decompress(compress_raw(raw)) == raw

"""Text from the outside: header values decoded and cleaned without ever raising.

Shared by the parser (``mail``) and the rules' header conditions (``rules``),
which must not import the parser.

A header value read by the standard library from bytes (``compat32``) holds
its 8-bit bytes as surrogate escapes. :func:`unescape_8bit` turns them back
into text (RFC 6532: UTF-8 first, then the part's declared charset, then
windows-1252, then latin-1); :func:`decode_words` decodes RFC 2047 encoded
words, in linear time, on a value first cut to :data:`HEADER_MAX`
characters; :func:`clean` removes NUL, C0 and C1 controls, line and paragraph
separators, bidirectional overrides and lone surrogates, folds whitespace and
fits the text to its column. :func:`header_text` does all three: every
header-derived text stored by tracer goes through it (``tracer.mail.parse``).
"""

from __future__ import annotations

import base64
import binascii
import re

# A header value longer than this is cut before it is decoded (a 9 MB subject
# cost 20 s to the standard library's quadratic decoder); no real header is
# this long once unfolded, and every column it lands in is shorter.
HEADER_MAX = 16 * 1024

# The columns header-derived text is stored in (tracer.store.models): fitted
# here, in one place, so no value from a message can overflow one.
NAME_MAX = 500  # message.from_name, request.sender_name
ADDRESS_MAX = 500  # message.from_addr, reply_to, request.sender_addr
ID_MAX = 998  # message.dedup_key, message_id, in_reply_to, message_ref.ref (RFC 5322 line length)
SUBJECT_MAX = 1000  # message.subject, request.subject (text; kept readable)
SHORT_MAX = 500  # auto_headers values, attachment names

# Removed outright: C0 controls but the whitespace ones, DEL, C1 controls,
# bidirectional embeddings / overrides / isolates, the byte order mark, lone
# surrogates (never valid in stored text; PostgreSQL refuses them and NUL).
_DROP = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# Turned into one space: tabs, line breaks of every kind, runs of spaces.
_SPACE = re.compile("[\t\n\x0b\x0c\r\x85\u2028\u2029 ]+")


def clean(text: str | None, limit: int | None = None) -> str:
    """``text`` as one printable line: controls removed, whitespace folded to
    single spaces, stripped, then cut to ``limit`` characters."""
    if not text:
        return ""
    if not text.isascii() or not text.isprintable():
        text = _DROP.sub("", text)
    text = _SPACE.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip()
    return text


def has_controls(text: str) -> bool:
    """Does ``text`` hold a character :func:`clean` would remove or turn into a space?"""
    return bool(_DROP.search(text) or re.search("[\t\n\x0b\x0c\r\x85\u2028\u2029]", text))


def unescape_8bit(value: str, charset: str | None = None) -> str:
    """A header value with its raw 8-bit bytes (surrogate escapes) decoded:
    UTF-8 first, then ``charset`` (the part's declared one), then
    windows-1252, then latin-1. Pure ASCII comes back as it is."""
    if value.isascii():
        return value
    data = value.encode("utf-8", "surrogateescape")
    return _decode(data, ("utf-8", charset, "cp1252"))


def _decode(data: bytes, charsets) -> str:
    for candidate in charsets:
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
        except Exception:  # a codec that breaks on odd input (some CJK ones)
            continue
    return data.decode("latin-1")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in the declared charset, else UTF-8, else windows-1252, else latin-1 (never raises)."""
    return _decode(data, (charset, "utf-8", "cp1252"))


# RFC 2047 encoded words (with an optional RFC 2231 language after '*').
_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([qQbB])\?([^?\s]*)\?=")
_GAP = re.compile(r"[ \t\r\n]*")


def decode_words(value: str) -> str:
    """RFC 2047 decoding in linear time that never raises.

    Whitespace between two encoded words goes; consecutive words in one
    charset are decoded together (a UTF-8 character split across two words
    reads right); a word that does not decode stays as it was written.
    """
    if len(value) > HEADER_MAX:
        value = value[:HEADER_MAX]
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    last = 0
    after_word = False

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_bytes(b"".join(pending), pending_charset))
        pending, pending_charset = [], None

    for found in _WORD.finditer(value):
        start, end = found.span()
        gap = value[last:start]
        data = _word_bytes(found.group(2), found.group(3))
        if data is None:  # not a valid word: literal text
            continue
        if not (after_word and _GAP.fullmatch(gap)):
            flush()
            out.append(gap)
        charset = found.group(1).lower()
        if pending and charset != pending_charset:
            flush()
        pending_charset = charset
        pending.append(data)
        last, after_word = end, True
    flush()
    out.append(value[last:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    try:
        if encoding in "qQ":
            return binascii.a2b_qp(text.encode("ascii", "replace"), header=True)
        data = text.encode("ascii", "replace")
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_header_value(value, charset: str | None = None) -> str:
    """A raw header value as text: 8-bit bytes and encoded words decoded, never raises
    (not cleaned: see :func:`header_text`)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return decode_words(unescape_8bit(value[:HEADER_MAX], charset))


def header_text(value, limit: int, charset: str | None = None) -> str:
    """A raw header value decoded (:func:`decode_header_value`), cleaned and fitted (:func:`clean`)."""
    return clean(decode_header_value(value, charset), limit)

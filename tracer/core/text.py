"""Text from the outside: header values decoded without ever raising.

Shared by the parser (``mail``) and the rules' header conditions (``rules``),
which must not import the parser.
"""

from __future__ import annotations

from email.header import decode_header, make_header


def decode_header_value(value) -> str:
    """RFC 2047 decoding that never raises (bad charsets fall back)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    if "=?" not in value:
        return value  # no encoded word: decode_header would hand it back as is
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        parts = []
        for chunk, charset in _safe_decode_header(value):
            if isinstance(chunk, bytes):
                parts.append(decode_bytes(chunk, charset))
            else:
                parts.append(chunk)
        return "".join(parts)


def _safe_decode_header(value: str):
    try:
        return decode_header(value)
    except Exception:
        return [(value, None)]


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in the declared charset, else UTF-8, else windows-1252, else latin-1 (never raises)."""
    for candidate in (charset, "utf-8", "cp1252"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")

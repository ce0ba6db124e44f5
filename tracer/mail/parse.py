"""Bytes in, :class:`ParsedMessage` out: pure, no IMAP, no database.

mail-parser decodes bodies, attachments and encoded words; the standard
library's ``email`` package reads addresses, ids and dates where mail-parser
is too lenient or too strict. Whatever a message holds, :func:`parse` either
returns a value or raises :class:`ParseError` with a French reason (the
message then goes to quarantine); no other exception escapes it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from tracer.core.text import decode_bytes, decode_header_value

log = logging.getLogger("tracer.mail.parse")
logging.getLogger("mailparser").setLevel(logging.ERROR)

AUTO_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "list-post",
    "x-failed-recipients",
    "return-path",
    "content-type",
    "feedback-id",
    "x-ms-exchange-generated-message-source",
    "x-mailer",
    "disposition-notification-to",
    "x-loop",
)
KNOWN_HEADERS = ("from", "to", "subject", "date", "message-id", "cc", "received", "return-path", "mime-version", "sender")
KNOWN_HEADERS_SET = frozenset(KNOWN_HEADERS)
MSGID = re.compile(r"<[^<>\s]+>")
MAX_BODY = 1_000_000  # characters of text kept per message


class ParseError(Exception):
    """A message with no usable content; ``str()`` is the French reason."""


@dataclass
class ParsedMessage:
    sha256: str
    message_id: str | None = None
    subject: str | None = None
    from_addr: str | None = None
    from_name: str | None = None
    to_addrs: list[str] = field(default_factory=list)
    cc_addrs: list[str] = field(default_factory=list)
    reply_to: str | None = None
    date: datetime | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    body_text: str = ""
    body_html: str | None = None
    attachments: list[dict] = field(default_factory=list)
    auto_headers: dict[str, str] = field(default_factory=dict)
    raw_headers: list[tuple[str, str]] = field(default_factory=list, repr=False)  # as on the wire
    content_type: str = "text/plain"
    report_type: str | None = None

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every header with its RFC 2047 words decoded (computed on demand)."""
        if not hasattr(self, "_decoded"):
            self._decoded = [(name, decode_header_value(value)) for name, value in self.raw_headers]
        return self._decoded

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


def parse(raw: bytes) -> ParsedMessage:
    if not raw or not raw.strip(b" \t\r\n\x00"):
        raise ParseError("message vide")
    try:
        return _parse(raw)
    except ParseError:
        raise
    except Exception as exc:  # a library bug on hostile input: quarantine, never crash
        raise ParseError(f"message illisible ({exc.__class__.__name__})") from None


def _parse(raw: bytes) -> ParsedMessage:
    shown, set_aside = _set_aside_attachments(raw)
    msg = email.message_from_bytes(shown, policy=email.policy.compat32)
    del shown
    raw_headers = [(name, str(value)) for name, value in msg.items()]
    # one pass over the header block: first value and all values per lower-case name
    every: dict[str, list[str]] = {}
    for name, value in raw_headers:
        every.setdefault(name.lower(), []).append(value)
    if not every.keys() & KNOWN_HEADERS_SET:
        raise ParseError("aucun en-tête reconnu (ni From, ni Date, ni Message-ID, ni Subject)")
    first = {name: values[0] for name, values in every.items()}
    parsed = ParsedMessage(sha256=hashlib.sha256(raw).hexdigest(), raw_headers=raw_headers)
    parsed.message_id = _first_id(first.get("message-id"))
    parsed.subject = _clean(decode_header_value(first["subject"])) if "subject" in first else None
    name, addr = _address(first.get("from")) or _address(first.get("sender")) or (None, None)
    parsed.from_name, parsed.from_addr = name, addr
    parsed.to_addrs = _addresses(every.get("to", []))
    parsed.cc_addrs = _addresses(every.get("cc", []))
    reply = _address(first.get("reply-to"))
    parsed.reply_to = reply[1] if reply else None
    parsed.date = _date(first.get("date"))
    parsed.in_reply_to = _first_id(first.get("in-reply-to"))
    parsed.references = _ids(first.get("references"))
    parsed.content_type = (msg.get_content_type() or "text/plain").lower()
    report = msg.get_param("report-type") if parsed.content_type == "multipart/report" else None
    parsed.report_type = str(report).lower() if report else None
    for key in AUTO_HEADERS:
        value = first.get(key)
        if value is not None:
            parsed.auto_headers[key] = _clean(decode_header_value(value))[:500]
    _bodies(msg, parsed, set_aside)
    return parsed


# --------------------------------------------------------------------------
# Headers.


def _clean(text: str) -> str:
    text = text.replace("\x00", "")
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()


# The common forms, « Nom <a@b.fr> » and « a@b.fr », read without the
# standard library's general address parser (a third of the parsing time);
# anything else (quotes, comments, groups, odd characters) goes to it.
_LOCAL = r"[\w+\-=']+(?:\.[\w+\-=']+)*"
_DOMAIN = r"[\w\-]+(?:\.[\w\-]+)*"
_SIMPLE_ADDRESS = re.compile(rf"[ \t]*(?:((?:[\w'\-.]+[ \t]+)*[\w'\-.]+)?[ \t]*<({_LOCAL}@{_DOMAIN})>|({_LOCAL}@{_DOMAIN}))[ \t]*")


def split_address(text: str) -> tuple[str, str]:
    """``email.utils.parseaddr`` of a decoded header value, faster for the common forms."""
    found = _SIMPLE_ADDRESS.fullmatch(text)
    return _name_and_address(found) if found is not None else parseaddr(text)


def _name_and_address(found: re.Match) -> tuple[str, str]:
    if found.group(3) is not None:  # a bare address
        return "", found.group(3)
    return " ".join((found.group(1) or "").split()), found.group(2)


def split_addresses(texts: list[str]) -> list[tuple[str, str]]:
    """``email.utils.getaddresses``, with the same fast path for simple lists."""
    out: list[tuple[str, str]] = []
    for text in texts:
        parts = text.split(",")
        simple = [_SIMPLE_ADDRESS.fullmatch(part) for part in parts]
        if not all(simple):
            return getaddresses(texts)
        out += [_name_and_address(found) for found in simple]
    return out


def _address(value) -> tuple[str | None, str] | None:
    if value is None:
        return None
    name, addr = split_address(decode_header_value(value))
    addr = addr.strip().lower()
    if not addr or "@" not in addr:
        return None
    return (_clean(name) or None, addr[:500])


def _addresses(values) -> list[str]:
    out = []
    for _name, addr in split_addresses([decode_header_value(v) for v in values]):
        addr = addr.strip().lower()
        if addr and "@" in addr and addr not in out:
            out.append(addr)
    return out


def _first_id(value) -> str | None:
    ids = _ids(value)
    if ids:
        return ids[0]
    if value is None:
        return None
    text = _clean(str(value))
    return f"<{text}>" if text and " " not in text and len(text) < 900 else None


def _ids(value) -> list[str]:
    if value is None:
        return []
    out = []
    for found in MSGID.findall(str(value)):
        if found not in out and len(found) < 998:
            out.append(found)
    return out


def _date(value) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(_clean(str(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


MESSAGE_ID_LINE = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID as :func:`parse` would give it, read from the header block only."""
    head = raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = MESSAGE_ID_LINE.search(head)
    if not found:
        return None
    return _first_id(found.group(1).decode("latin-1"))


def received_time_from_headers(raw: bytes) -> datetime | None:
    """Date of the topmost ``Received:`` header, else of ``Date:``, else None."""
    try:
        msg = email.message_from_bytes(raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0] + b"\n\n", policy=email.policy.compat32)
    except Exception:
        return None
    for received in msg.get_all("Received", []) or []:
        text = str(received)
        if ";" in text:
            when = _date(text.rsplit(";", 1)[1])
            if when is not None:
                return when
        break
    return _date(msg.get("Date"))


# --------------------------------------------------------------------------
# Bodies and attachments.


def _bodies(msg, parsed: ParsedMessage, set_aside: dict[str, int]) -> None:
    texts, htmls = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = (part.get_content_type() or "text/plain").lower()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = part.get_filename()
        if filename is not None:
            filename = _clean(decode_header_value(filename))
        if set_aside and SET_ASIDE_MARK in str(part.get_payload()):
            parsed.attachments.append({"filename": filename, "size": _set_aside_size(part, set_aside), "content_type": ctype})
            continue
        payload = _payload(part)
        if disposition == "attachment" or (filename and not ctype.startswith("text/")) or not (
            ctype.startswith("text/") or ctype.startswith("message/")
        ):
            parsed.attachments.append({"filename": filename, "size": len(payload), "content_type": ctype})
            continue
        if ctype.startswith("message/"):
            continue  # delivery-status & co: the human-readable part is enough
        text = decode_bytes(payload, part.get_content_charset())
        if ctype == "text/html":
            htmls.append(text)
        elif filename and disposition == "attachment":
            parsed.attachments.append({"filename": filename, "size": len(payload), "content_type": ctype})
        else:
            texts.append(text)
    parsed.body_html = "\n".join(htmls)[:MAX_BODY] if htmls else None
    body = "\n\n".join(t for t in texts if t.strip())
    if not body.strip() and htmls:
        body = html_to_text("\n".join(htmls))
    parsed.body_text = body.replace("\x00", "").replace("\r\n", "\n")[:MAX_BODY]


# --------------------------------------------------------------------------
# Large attachments: the standard library parser holds about ten copies of a
# message's text while it parses (lines, joined payloads, decoded bytes), which
# is 350 MB for a 25 MB attachment, and decoding is most of the time spent on a
# scanned document. In a large message, long base64 runs in the
# body of a binary part (not text/*, message/* or multipart/*) are replaced by a
# short mark before parsing, and their decoded size is computed from the run
# itself: the attachment keeps its exact size, the raw message stays intact.

LARGE_MESSAGE = 256 * 1024  # bytes: smaller messages are parsed as they are
SET_ASIDE_RUN = 64 * 1024  # bytes: shorter base64 runs are left in place
SET_ASIDE_MARK = "tracersetaside"
_BASE64_RUN = re.compile(rb"^(?:[A-Za-z0-9+/]{4,}={0,2}[ \t]*\r?\n)++", re.MULTILINE)
_PART_HEADERS = re.compile(rb"(?:\r?\n\r?\n|^)((?:(?!\r?\n\r?\n).)*?)\r?\n\r?\n\Z", re.DOTALL)
_CONTENT_TYPE = re.compile(rb"^content-type:[ \t]*([a-z0-9!#$&^_.+\-]+/[a-z0-9!#$&^_.+\-]+)", re.IGNORECASE | re.MULTILINE)
_BASE64_ENCODED = re.compile(rb"^content-transfer-encoding:[ \t]*\"?base64\"?[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


def _set_aside_attachments(raw: bytes) -> tuple[bytes, dict[str, int]]:
    """``raw`` with the long base64 bodies of binary parts replaced by marks,
    and each mark's decoded size (``raw`` itself when there is nothing to do)."""
    if len(raw) < LARGE_MESSAGE:
        return raw, {}
    pieces, sizes, last = [], {}, 0
    for run in _BASE64_RUN.finditer(raw):
        start, end = run.span()
        if end - start < SET_ASIDE_RUN or not _is_binary_base64_body(raw, start):
            continue
        chars = (end - start) - sum(raw.count(c, start, end) for c in (b"\n", b"\r", b" ", b"\t"))
        if chars % 4:
            continue  # not whole base64 quanta: let the parser decode it
        mark = f"{SET_ASIDE_MARK}{len(sizes):06d}"
        sizes[mark] = chars // 4 * 3 - raw.count(b"=", start, end)
        pieces += [raw[last:start], mark.encode() + b"\n"]
        last = end
    if not sizes:
        return raw, {}
    pieces.append(raw[last:])
    return b"".join(pieces), sizes


def _is_binary_base64_body(raw: bytes, start: int) -> bool:
    """Does the run at ``start`` open the body of a base64 part that is not text?"""
    window = raw[max(0, start - 8192) : start]
    found = _PART_HEADERS.search(window)
    if found is None:
        return False
    headers = found.group(1)
    ctype = _CONTENT_TYPE.search(headers)
    if not _BASE64_ENCODED.search(headers) or ctype is None:
        return False
    kind = ctype.group(1).lower()
    return not kind.startswith((b"text/", b"message/", b"multipart/"))


def _set_aside_size(part, set_aside: dict[str, int]) -> int:
    """Decoded size of a part whose body holds marks (and maybe base64 left in place)."""
    body = str(part.get_payload())
    size = 0
    for mark in re.findall(SET_ASIDE_MARK + r"\d{6}", body):
        size += set_aside.get(mark, 0)
        body = body.replace(mark, "", 1)
    rest = re.sub(r"\s+", "", body)
    if rest:
        import binascii

        try:
            size += len(binascii.a2b_base64(rest.encode("ascii", "replace")))
        except binascii.Error:
            pass
    return size


def _payload(part) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            return raw.encode("utf-8", "replace")
        return b""
    return data


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr", "pre"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body: tags, scripts and styles removed."""
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
        text = "".join(extractor.parts)
    except Exception:
        text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

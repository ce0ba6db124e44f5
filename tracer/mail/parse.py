"""Bytes in, :class:`ParsedMessage` out: pure, no IMAP, no database.

The standard library's ``email`` package (``policy.default``) reads the
message; this module adds what it lacks for a register: raw 8-bit headers
decoded as UTF-8, then the part's charset, then windows-1252
(``tracer.core.text``); addresses read from the undecoded header, never from
decoded encoded words; every header value cleaned of controls and fitted to
its column; large attachments set aside before parsing (bounded memory); a
plain fast path for simple messages; the content hash that tells two
messages under one Message-ID apart. Whatever a message holds, :func:`parse`
either returns a value or raises :class:`ParseError` with a French reason
(the message then goes to quarantine); no other exception escapes it.
mail-parser is not used here (see README, « mail-parser »).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

from tracer.core.text import (
    _WORD, ADDRESS_MAX, HEADER_MAX, ID_MAX, NAME_MAX, SHORT_MAX, SUBJECT_MAX, clean, decode_bytes, decode_header_value,
    decode_words, has_controls, header_text, unescape_8bit,
)

log = logging.getLogger("tracer.mail.parse")

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
    content_hash: str = ""  # sender, subject, date and body (see content_hash)

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every header with its RFC 2047 words decoded (computed on demand)."""
        if not hasattr(self, "_decoded"):
            self._decoded = [(name, clean(decode_header_value(value))) for name, value in self.raw_headers]
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
    # as on the wire: 8-bit bytes as surrogate escapes, encoded words undecoded
    # (compat32's msg.items() would turn 8-bit values into Header objects)
    raw_headers = [(name, _unfold(value)) for name, value in msg.raw_items()]
    # one pass over the header block: first value and all values per lower-case name
    every: dict[str, list[str]] = {}
    for name, value in raw_headers:
        every.setdefault(name.lower(), []).append(value)
    if not every.keys() & KNOWN_HEADERS_SET:
        raise ParseError("aucun en-tête reconnu (ni From, ni Date, ni Message-ID, ni Subject)")
    first = {name: values[0] for name, values in every.items()}
    charset = _charset(first.get("content-type"))
    parsed = ParsedMessage(sha256=hashlib.sha256(raw).hexdigest(), raw_headers=raw_headers)
    parsed.message_id = _first_id(first.get("message-id"))
    parsed.subject = header_text(first["subject"], SUBJECT_MAX, charset) if "subject" in first else None
    name, addr = _address(first.get("from"), charset) or _address(first.get("sender"), charset) or (None, None)
    parsed.from_name, parsed.from_addr = name, addr
    parsed.to_addrs = _addresses(every.get("to", []), charset)
    parsed.cc_addrs = _addresses(every.get("cc", []), charset)
    reply = _address(first.get("reply-to"), charset)
    parsed.reply_to = reply[1] if reply else None
    parsed.date = _date(first.get("date"))
    parsed.in_reply_to = _first_id(first.get("in-reply-to"))
    parsed.references = _ids(first.get("references"))
    parsed.content_type = _content_type(first.get("content-type"))
    parsed.report_type = _param(first.get("content-type"), "report-type") if parsed.content_type == "multipart/report" else None
    if parsed.report_type:
        parsed.report_type = clean(parsed.report_type, 100).lower() or None
    for key in AUTO_HEADERS:
        value = first.get(key)
        if value is not None:
            parsed.auto_headers[key] = header_text(value, SHORT_MAX, charset)
    parsed.content_hash = content_hash(raw, first)
    _bodies(msg, parsed, set_aside)
    return parsed


# --------------------------------------------------------------------------
# Headers: every text taken from a header goes through tracer.core.text
# (8-bit bytes and encoded words decoded, controls removed, fitted to its
# column); addresses are parsed before any decoding.

_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _unfold(value) -> str:
    value = value if isinstance(value, str) else str(value)
    return _FOLD.sub("", value[:HEADER_MAX]).rstrip("\r\n")


def _param_message(value: str | None, name: str = "content-type") -> email.message.Message:
    """A header alone in a message, its 8-bit bytes decoded: the standard
    library reads its parameters (RFC 2231 included) without tripping on them."""
    holder = email.message.Message()
    if value is not None:
        holder[name] = unescape_8bit(value)
    return holder


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    try:
        charset = _param_message(content_type).get_content_charset()
    except Exception:
        return None
    return charset if charset and len(charset) < 40 else None


def _content_type(value: str | None) -> str:
    if not value:
        return "text/plain"
    try:
        kind = _param_message(value).get_content_type()
    except Exception:
        return "text/plain"
    return clean(kind, 100).lower() or "text/plain"


def _param(value: str | None, param: str, header: str = "content-type") -> str | None:
    if not value:
        return None
    try:
        found = _param_message(value, header).get_param(param, header=header)
    except Exception:
        return None
    if isinstance(found, tuple):  # RFC 2231
        found = email.utils.collapse_rfc2231_value(found)
    return str(found) if found is not None else None


def content_hash(raw: bytes, first: dict[str, str]) -> str:
    """What makes two copies of a message the same message: its sender, subject,
    date and body, whatever the trace headers each mailbox added (Received,
    Delivered-To…) and whatever the line endings. Two messages under one
    Message-ID with different hashes are different messages."""
    digest = hashlib.sha256()
    for name in ("from", "subject", "date"):
        digest.update(" ".join((first.get(name) or "").split()).encode("utf-8", "surrogateescape") + b"\n")
    cut, crlf = raw.find(b"\n\n"), raw.find(b"\r\n\r\n")
    if crlf != -1 and (cut == -1 or crlf < cut):
        start = crlf + 4
    else:
        start = cut + 2 if cut != -1 else len(raw)
    view, carry, step = memoryview(raw), b"", 1 << 20  # in slices: no copy of a large message
    for at in range(start, len(raw), step):
        chunk = carry + view[at : at + step].tobytes()
        carry = b"\r" if chunk.endswith(b"\r") else b""
        digest.update((chunk[:-1] if carry else chunk).replace(b"\r\n", b"\n"))
    digest.update(carry)
    return digest.hexdigest()


# Addresses are read from the header as written, before RFC 2047 decoding
# (an encoded display name that decodes to « Nom, Prénom » or « x <other@…> »
# must not move the address); only display names are decoded. The common
# forms « Nom <a@b.fr> », « "Nom, Prénom" <a@b.fr> », « =?utf-8?…?= <a@b.fr> »
# and « a@b.fr » are read by one expression; anything else goes to the
# standard library's RFC 5322 parser (email.headerregistry), whose result is
# refused when it is ambiguous (CVE-2023-27043: « a@b)<c@d> »).
_LOCAL = r"[\w+\-=']++(?:\.[\w+\-=']++)*+"
_DOMAIN = r"[\w\-]++(?:\.[\w\-]++)*+"
_ATOM = r"[\w!#$%&'*+\-/=?^`{|}~.]++"
_QUOTED = r'"(?:[^"\\\r\n]|\\[^\r\n])*+"'
_PHRASE = rf"(?:{_ATOM}|{_QUOTED})(?:[ \t]*+(?:{_ATOM}|{_QUOTED}))*+"  # possessive: linear time
_SIMPLE_MAILBOX = re.compile(
    rf"[ \t]*(?:(?P<name>{_PHRASE})?[ \t]*<(?P<angle>{_LOCAL}@{_DOMAIN})>|(?P<bare>{_LOCAL}@{_DOMAIN}))[ \t]*(?P<end>,|$)"
)
_QUOTED_PART = re.compile(_QUOTED)
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]")


def read_addresses(value: str | None, charset: str | None = None) -> list[tuple[str | None, str]]:
    """``(display name or None, address)`` of each mailbox of a raw header value
    (groups flattened); addresses lower-cased; an address holding a control
    character or a space, or longer than its column, is left out."""
    if not value:
        return []
    text = unescape_8bit(_unfold(value), charset)
    fast = _read_simple(text)
    found = fast if fast is not None else _read_rfc5322(text)
    out = []
    for name, addr in found:
        addr = addr.strip().lower()
        if not addr or addr.count("@") != 1 or addr.startswith("@") or addr.endswith("@"):
            continue
        if len(addr) > ADDRESS_MAX or _SPACE_OR_CONTROL.search(addr):
            continue
        out.append((clean(name, NAME_MAX) or None, addr))
    return out


def _read_simple(text: str) -> list[tuple[str, str]] | None:
    out, pos = [], 0
    while True:
        found = _SIMPLE_MAILBOX.match(text, pos)
        if found is None:
            return None
        if found.group("bare") is not None:
            out.append(("", found.group("bare")))
        else:
            out.append((_display_name(found.group("name") or ""), found.group("angle")))
        pos = found.end()
        if found.group("end") != ",":
            return out
        if pos >= len(text):
            return None  # a trailing comma: let the full parser judge


def _display_name(phrase: str) -> str:
    """A phrase as a person reads it: quoted strings unquoted, encoded words decoded."""
    if '"' in phrase:
        phrase = _QUOTED_PART.sub(lambda q: re.sub(r"\\(.)", r"\1", q.group(0)[1:-1]), phrase)
    return decode_words(phrase)


def _read_rfc5322(text: str) -> list[tuple[str, str]]:
    from email import _header_value_parser as rfc5322  # what email.headerregistry parses with
    from email.errors import InvalidHeaderDefect

    try:
        parsed, rest = rfc5322.get_address_list(text)
    except Exception:  # the parser's own bug on hostile input: no address
        return []
    out = []
    for mailbox in parsed.all_mailboxes:
        if _inside(mailbox, "addr-spec", "encoded-word"):
            continue  # an encoded word in the address itself (RFC 2047 §5 forbids it)
        try:
            addr, name, domain = mailbox.addr_spec, mailbox.display_name or "", mailbox.domain
        except Exception:
            continue
        if addr and domain:
            out.append((name, addr))
    if rest or any(isinstance(d, InvalidHeaderDefect) for d in parsed.all_defects):
        # Read past a defect, the parser may have taken the wrong address of
        # several: refuse unless every « @ » outside quotes and encoded words
        # is one of the addresses read.
        if _QUOTED_PART.sub("", _WORD.sub("", text)).count("@") != len(out):
            return []
    return out


def _inside(token, outer: str, inner: str) -> bool:
    """Does a token of type ``inner`` sit in a token of type ``outer`` of ``token``?"""
    stack, within = [(token, False)], False
    while stack:
        item, within = stack.pop()
        kind = getattr(item, "token_type", None)
        if within and kind == inner:
            return True
        if isinstance(item, list):
            stack += [(child, within or kind == outer) for child in item]
    return False


def _address(value, charset: str | None = None) -> tuple[str | None, str] | None:
    found = read_addresses(value, charset)
    return found[0] if found else None


def _addresses(values, charset: str | None = None) -> list[str]:
    out = []
    for value in values:
        for _name, addr in read_addresses(value, charset):
            if addr not in out:
                out.append(addr)
    return out


def _first_id(value) -> str | None:
    ids = _ids(value)
    if ids:
        return ids[0]
    if value is None:
        return None
    text = unescape_8bit(_unfold(value)).strip()
    if not text or len(text) > ID_MAX - 2 or has_controls(text) or any(c in text for c in " <>"):
        return None
    return f"<{text}>"


def _ids(value) -> list[str]:
    """Message-IDs of a header: each as written, refused if it holds a control
    character or is longer than its column."""
    if value is None:
        return []
    out = []
    for found in MSGID.findall(unescape_8bit(_unfold(value))):
        if found not in out and len(found) <= ID_MAX and not has_controls(found):
            out.append(found)
    return out


def _date(value) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(clean(unescape_8bit(str(value)), 200))
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
    return _first_id(found.group(1).decode("ascii", "surrogateescape"))  # as the parser reads it


def from_address(raw: bytes) -> str | None:
    """The From: address as :func:`parse` reads it, from the header block only."""
    head = raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        msg = email.message_from_bytes(head + b"\n\n", policy=email.policy.compat32)
        value = next((v for k, v in msg.raw_items() if k.lower() == "from"), None)
        found = _address(value, _charset(next((v for k, v in msg.raw_items() if k.lower() == "content-type"), None)))
    except Exception:
        return None
    return found[1] if found else None


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
        content_type, content_disposition = _part_headers(part)
        ctype = _content_type(content_type)
        disposition = unescape_8bit(content_disposition or "").split(";")[0].strip().lower()
        filename = _filename(content_type, content_disposition)
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
        text = decode_bytes(payload, _charset(content_type))
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


def _part_headers(part) -> tuple[str | None, str | None]:
    """A part's Content-Type and Content-Disposition as written (8-bit included)."""
    content_type = disposition = None
    for name, value in part.raw_items():
        key = name.lower()
        if key == "content-type" and content_type is None:
            content_type = _unfold(value)
        elif key == "content-disposition" and disposition is None:
            disposition = _unfold(value)
    return content_type, disposition


def _filename(content_type: str | None, disposition: str | None) -> str | None:
    """An attachment's name (``filename`` of the disposition, else ``name`` of
    the type; RFC 2231, encoded words and raw 8-bit all read)."""
    name = _param(disposition, "filename", "content-disposition") or _param(content_type, "name")
    if name is None:
        return None
    return clean(decode_words(name), SHORT_MAX) or None


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

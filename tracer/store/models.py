"""Database tables.

Conventions:
- every datetime is *aware*: SQLModel's ``UTCDateTime`` refuses naive values
  and returns UTC (``timestamptz`` on PostgreSQL, UTC text on SQLite);
- JSON columns hold plain lists / dicts;
- ``Event`` is append-only: the code has no update or delete path for it;
- ``Request`` holds the current projection of a request (category, service,
  deadline, answered_at); every change to it is also written as an ``Event``.

Schema changes go through Alembic (``tracer/migrations``); see
``docs/ARCHITECTURE.md``.
"""


from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, Relationship, SQLModel


def _json(default=None):
    return Field(default_factory=(list if default is list else dict), sa_column=Column(JSON, nullable=False))


class RawMessage(SQLModel, table=True):
    """Compressed raw bytes of a recorded message (purged after retention)."""

    __tablename__ = "raw_message"
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    size: int
    data: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    purged_at: Optional[datetime] = None


class Message(SQLModel, table=True):
    """One e-mail, inbound (citizen) or outbound (reply), seen once.

    ``dedup_key`` is the Message-ID when there is one, else ``sha256:<hash>``
    of the raw bytes: the same message reaching two mailboxes is one row.
    """

    __tablename__ = "message"
    id: Optional[int] = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=998, sa_column_kwargs={"unique": True})
    message_id: Optional[str] = Field(default=None, max_length=998, index=True)
    direction: str = Field(max_length=8)  # "in" | "out"
    kind: str = Field(default="mail", max_length=16)  # mail | reply | ack | auto
    request_id: Optional[int] = Field(default=None, foreign_key="request.id", index=True)
    mailbox: str = Field(max_length=200)
    folder: Optional[str] = Field(default=None, max_length=200)
    source: Optional[str] = Field(default=None, max_length=1000)  # imap | import path
    received_at: datetime  # INTERNALDATE, UTC
    date_header: Optional[datetime] = None
    from_addr: Optional[str] = Field(default=None, max_length=500, index=True)
    from_name: Optional[str] = Field(default=None, max_length=500)
    to_addrs: list = _json(list)
    cc_addrs: list = _json(list)
    reply_to: Optional[str] = Field(default=None, max_length=500)
    subject: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    in_reply_to: Optional[str] = Field(default=None, max_length=998, index=True)
    references: list = _json(list)
    body_text: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    attachments: list = _json(list)  # [{"filename":…, "size":…, "content_type":…}]
    auto_headers: dict = _json(dict)  # Auto-Submitted, Precedence, List-Id, content type…
    # lets a new message point to a request not yet flushed (one flush per batch)
    request: Optional["Request"] = Relationship()
    # sender, subject, date and body hashed (tracer.mail.parse.content_hash): a
    # message under a known Message-ID with another hash is another message
    content_hash: Optional[str] = Field(default=None, max_length=64)
    same_id_as: Optional[int] = None  # message.id of the earlier, different message with this Message-ID
    template: Optional[str] = Field(default=None, max_length=200)  # replies sent by tracer
    sent_by: Optional[str] = Field(default=None, max_length=200)
    purged_at: Optional[datetime] = None
    created_at: datetime


class MessageRef(SQLModel, table=True):
    """A Message-ID that a message points to (In-Reply-To and References).

    Lets a reply polled before its request find it later, by an indexed
    lookup rather than a scan of JSON columns.
    """

    __tablename__ = "message_ref"
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    ref: str = Field(max_length=998, index=True)


class MessageLocation(SQLModel, table=True):
    """Where a message was seen: (mailbox, folder, uidvalidity, uid)."""

    __tablename__ = "message_location"
    __table_args__ = (UniqueConstraint("mailbox", "folder", "uidvalidity", "uid"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    mailbox: str = Field(max_length=200)
    folder: str = Field(max_length=200)
    uidvalidity: int
    uid: int
    seen_at: datetime


class FolderState(SQLModel, table=True):
    """Poll progress of one IMAP folder: highest UID recorded under a UIDVALIDITY."""

    __tablename__ = "folder_state"
    __table_args__ = (UniqueConstraint("mailbox", "folder"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=200)
    folder: str = Field(max_length=200)
    role: str = Field(max_length=8)  # inbox | sent
    uidvalidity: Optional[int] = None
    last_uid: int = 0
    last_success_at: Optional[datetime] = None
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error_at: Optional[datetime] = None


class ReferenceCounter(SQLModel, table=True):
    """Last sequence number used per (prefix, year): references never reused."""

    __tablename__ = "reference_counter"
    __table_args__ = (UniqueConstraint("prefix", "year"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=50)
    year: int
    last: int = 0


class Request(SQLModel, table=True):
    """A request (demande / réclamation / courrier) and its current state."""

    __tablename__ = "request"
    # Covering index of the indicators: SQLite answers stats from the index alone.
    __table_args__ = (
        Index(
            "ix_request_indicators",
            "received_at", "category", "service", "received_month", "channel", "topic", "mailbox",
            "received_week", "received_quarter", "answered_at", "deadline", "delay_seconds", "delay_working_seconds",
        ),
        # Covering index of « Demandes » (the tabs' counts and the page's order): an agent's
        # service is a range of it; a référent's counts scan it, not the table (bench/web.py).
        Index("ix_request_register", "service", "answered_at", "deadline", "category", "assignee", "received_at",
              "reference"),
        # --by service month (and any grouping by month): read in group order over the period's months, no sort
        Index(
            "ix_request_month_service",
            "received_month", "service", "received_at", "category", "answered_at", "deadline", "delay_seconds",
            "delay_working_seconds",
        ),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    reference: str = Field(max_length=80, sa_column_kwargs={"unique": True})
    channel: str = Field(default="email", max_length=8)  # email | paper
    mailbox: Optional[str] = Field(default=None, max_length=200, index=True)
    service: Optional[str] = Field(default=None, max_length=200, index=True)
    category: Optional[str] = Field(default=None, max_length=32, index=True)
    topic: Optional[str] = Field(default=None, max_length=64)
    rule_ids: list = _json(list)
    sender_addr: Optional[str] = Field(default=None, max_length=500, index=True)
    sender_name: Optional[str] = Field(default=None, max_length=500)
    subject: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime = Field(index=True)  # UTC
    deadline: Optional[datetime] = Field(default=None, index=True)  # UTC
    deadline_days: Optional[int] = None  # working days applied
    answered_at: Optional[datetime] = None  # UTC
    answer_message_id: Optional[int] = None  # message.id (no FK: avoids a cycle)
    parent_id: Optional[int] = Field(default=None, foreign_key="request.id", index=True)  # « Une demande »'s follow-ups
    assignee: Optional[str] = Field(default=None, max_length=200, index=True)  # agent's login
    anonymous: bool = Field(default=False)  # no reply address at all: no deadline, out of the rate
    purged_at: Optional[datetime] = None
    created_at: datetime
    # Denormalised for the indicators (SQLite has no time zones): Paris buckets
    # of the reception, and the delays once answered. See stats.derived_fields.
    received_day: Optional[str] = Field(default=None, max_length=10, index=True)
    received_week: Optional[str] = Field(default=None, max_length=8)
    received_month: Optional[str] = Field(default=None, max_length=7)
    received_quarter: Optional[str] = Field(default=None, max_length=7)
    delay_seconds: Optional[float] = None
    delay_working_seconds: Optional[float] = None


class Event(SQLModel, table=True):
    """Append-only audit log: who did what to which request, and when."""

    __tablename__ = "event"
    id: Optional[int] = Field(default=None, primary_key=True)
    request_id: Optional[int] = Field(default=None, foreign_key="request.id", index=True)
    at: datetime
    kind: str = Field(max_length=40)  # received, classified, reclassified, transferred, …
    actor: str = Field(default="tracer", max_length=200)
    data: dict = _json(dict)


class Quarantine(SQLModel, table=True):
    """A message that could not be parsed, kept raw with the reason."""

    __tablename__ = "quarantine"
    id: Optional[int] = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    mailbox: Optional[str] = Field(default=None, max_length=200)
    folder: Optional[str] = Field(default=None, max_length=200)
    uidvalidity: Optional[int] = None
    uid: Optional[int] = None
    source: Optional[str] = Field(default=None, max_length=1000)
    received_at: Optional[datetime] = None
    reason: str = Field(sa_column=Column(Text, nullable=False))
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # compressed
    created_at: datetime


class Outbox(SQLModel, table=True):
    """Every mail tracer sends, written before the SMTP attempt."""

    __tablename__ = "outbox"
    # one acknowledgement per request, whatever the number of mailboxes and
    # concurrent polls: the database refuses a second one
    __table_args__ = (
        Index("uq_outbox_ack_request", "request_id", unique=True,
              sqlite_where=text("kind = 'ack'"), postgresql_where=text("kind = 'ack'")),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # reply | ack | alert | digest
    request_id: Optional[int] = Field(default=None, foreign_key="request.id", index=True)
    mailbox: Optional[str] = Field(default=None, max_length=200)
    message_id: str = Field(max_length=998, sa_column_kwargs={"unique": True})
    sender: str = Field(max_length=500)
    recipients: list = _json(list)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # full RFC 5322 bytes
    status: str = Field(default="pending", max_length=16, index=True)  # pending|sending|sent|failed
    attempts: int = 0
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    next_attempt_at: Optional[datetime] = None
    created_by: str = Field(default="tracer", max_length=200)
    created_at: datetime
    sent_at: Optional[datetime] = None
    appended_at: Optional[datetime] = None  # copy appended to the Sent folder


class AlertLog(SQLModel, table=True):
    """One row per alert sent: (request, threshold, day, service) never alerted twice.

    ``day`` is "-" for the before-deadline thresholds (once per request and
    service) and the Paris date for overdue reminders (once per working day);
    the service is part of the key so that a transfer alerts the new service.
    """

    __tablename__ = "alert_log"
    __table_args__ = (UniqueConstraint("request_id", "threshold", "day", "service"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    threshold: str = Field(max_length=16)  # "before:2", "before:1", "overdue"
    day: str = Field(max_length=10)
    service: str = Field(max_length=200)
    outbox_id: Optional[int] = Field(default=None, foreign_key="outbox.id")
    created_at: datetime


class PublishedFigures(SQLModel, table=True):
    """Indicators as published for a period: later changes never rewrite them."""

    __tablename__ = "published_figures"
    id: Optional[int] = Field(default=None, primary_key=True)
    period: str = Field(max_length=20, index=True)  # "2026-Q3"
    date_from: str = Field(max_length=10)
    date_to: str = Field(max_length=10)
    as_of: datetime
    by: list = _json(list)
    figures: dict = _json(dict)  # the stats JSON as published
    fingerprint: dict = _json(dict)  # rules and calendar in force
    created_by: str = Field(max_length=200)
    created_at: datetime


class Account(SQLModel, table=True):
    """A person who signs in to the web interface (``tracer user add``).

    ``services`` scopes what an ``agent`` sees; ``password_hash`` is argon2
    (None for an account that signs in only through OpenID Connect).
    """

    __tablename__ = "account"
    id: Optional[int] = Field(default=None, primary_key=True)
    login: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    name: Optional[str] = Field(default=None, max_length=500)
    email: Optional[str] = Field(default=None, max_length=500, index=True)
    role: str = Field(max_length=16)  # agent | referent | auditeur | admin
    services: list = _json(list)
    password_hash: Optional[str] = Field(default=None, max_length=500)
    disabled: bool = Field(default=False)
    created_at: datetime
    last_login_at: Optional[datetime] = None


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random value, the table its SHA-256.

    Checked on every request (revoked, expired, account disabled: signed out).
    ``csrf_token`` is the synchronizer token every form of this session carries.
    """

    __tablename__ = "web_session"
    id: str = Field(max_length=64, primary_key=True)  # sha256 hex of the cookie value
    account_id: int = Field(foreign_key="account.id", index=True)
    csrf_token: str = Field(max_length=100)
    via: str = Field(default="password", max_length=16)  # password | oidc
    created_at: datetime
    expires_at: datetime
    revoked_at: Optional[datetime] = None


class ApiToken(SQLModel, table=True):
    """A personal API token (``tracer user token``): only its SHA-256 is kept."""

    __tablename__ = "api_token"
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime
    last_used_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None


class LoginAttempt(SQLModel, table=True):
    """A password sign-in attempt, for rate limiting per login and per address."""

    __tablename__ = "login_attempt"
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    login: str = Field(max_length=200, index=True)
    address: Optional[str] = Field(default=None, max_length=100, index=True)
    success: bool = Field(default=False)

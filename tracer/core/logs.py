"""Logging: one line per event, text or JSON (``--log-format json``).

Messages never carry a password or a message body: secrets live in
``config.Secret`` objects that are never formatted, and bodies are never
passed to a logger.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["error"] = f"{record.exc_info[0].__name__}"
        return json.dumps(data, ensure_ascii=False, default=str)


LEVELS_FR = {"DEBUG": "débogage", "INFO": "info", "WARNING": "avertissement", "ERROR": "erreur", "CRITICAL": "critique"}


class TextFormatter(logging.Formatter):
    """``2026-12-02 20:16:39+01:00 avertissement tracer.outbox : …``: Paris time with its offset, so a
    line reads the same on a server kept in UTC."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname_fr)s %(name)s : %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.levelname_fr = LEVELS_FR.get(record.levelname, record.levelname.lower())
        return super().format(record)

    def formatTime(self, record, datefmt=None) -> str:
        from tracer.core.clock import PARIS

        return datetime.fromtimestamp(record.created, PARIS).isoformat(sep=" ", timespec="seconds")

    def formatException(self, ei) -> str:  # one line per event: no multi-line traceback
        return f"  ({ei[0].__name__})"


def setup(fmt: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "imapclient", "aiosmtplib", "mail-parser", "mailparser", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

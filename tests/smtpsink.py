"""A real SMTP server for tests (aiosmtpd), that can refuse, hang up or disappear."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.sink.refused:
            return "550 5.1.1 Destinataire inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.answer:
            return self.sink.answer
        self.sink.messages.append(envelope)
        if self.sink.hang_up:
            # accepted, but the answer never reaches the client: the ambiguous case
            server.transport.close()
        return "250 2.0.0 OK: message accepté"


class SmtpSink:
    """``messages`` holds the envelopes accepted (``parsed()`` as EmailMessage)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages = []
        self.answer: str | None = None
        self.hang_up = False
        self.refused: set[str] = set()  # recipients answered 550 at RCPT
        self.controller: Controller | None = None

    def start(self) -> "SmtpSink":
        """Start (or restart, on the same port)."""
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def fail_with(self, code: int | str | None, text: str = "") -> None:
        """Answer the message with an error: ``fail_with(451, "4.3.0 Réessayez")``
        or ``fail_with("550 5.1.1 Inconnu")``; ``fail_with(None)``: accept again."""
        if code is None:
            self.answer = None
        elif isinstance(code, int):
            self.answer = f"{code} {text}".strip()
        else:
            self.answer = code

    def hang_up_after_data(self, enabled: bool = True) -> None:
        """Keep the message but close the connection before answering it."""
        self.hang_up = enabled

    def parsed(self):
        return [message_from_bytes(e.content, policy=policy.default) for e in self.messages]

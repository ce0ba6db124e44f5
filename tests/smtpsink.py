"""A real SMTP server for tests (aiosmtpd), that can refuse or disappear."""

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

    async def handle_DATA(self, server, session, envelope):
        if self.sink.answer:
            return self.sink.answer
        self.sink.messages.append(envelope)
        return "250 2.0.0 OK: message accepté"


class SmtpSink:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages = []
        self.answer: str | None = None
        self.controller: Controller | None = None

    def start(self) -> "SmtpSink":
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def fail_with(self, answer: str | None) -> None:
        """e.g. "451 4.3.0 Try again later" or "550 5.1.1 No such user"; None: accept."""
        self.answer = answer

    def parsed(self):
        return [message_from_bytes(e.content, policy=policy.default) for e in self.messages]

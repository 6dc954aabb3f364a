"""Real SMTP servers for the mail tests: aiosmtpd with an inbox, and a socket that never greets."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.message import Message
from typing import Any

from tests.support.net import free_port


class Inbox:
    """aiosmtpd handler: every message received (across restarts of its server)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on its own port that can be stopped and started again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.inbox = Inbox()
        self._controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class StallingSmtp:
    """Accepts TCP connections and never greets: an SMTP client hangs waiting for the greeting
    (a worker sending mail hangs inside the send)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

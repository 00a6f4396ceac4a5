"""A real SMTP server on 127.0.0.1 for tests: captures what it receives and can fail on purpose.

`SmtpTestServer` runs aiosmtpd in a thread on a free port (the listening socket is bound before the
server starts, so there is no race for the port). `CapturingHandler` records every accepted message
with its envelope; its options make it misbehave the way real servers do:

- ``fail_after=N``: once N messages have been accepted (in total, over all connections), every later
  transaction fails at MAIL FROM, by ``failure="disconnect"`` (the connection is dropped) or
  ``failure="4xx"`` (``451 4.3.0``, a temporary server error);
- ``reject={addr, ...}``: RCPT TO for these addresses is answered ``550 5.1.1`` (a refused recipient);
- ``reject_data={addr, ...}``: the message to these addresses is refused after DATA with ``554 5.6.0``;
- ``per_connection_limit=K``: after K messages on one connection, the server drops that connection at
  the next MAIL FROM (as servers with a per-connection limit or an idle timeout do); the client is
  expected to reconnect;
- ``hold_once={addr, ...}``: the first message to these addresses is recorded as received and the
  answer to DATA is then withheld (for ``hold_seconds``), so a test can kill the client in the window
  between the server accepting a message and the client learning of it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message the server accepted: envelope and raw content."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    connection: int
    """A number per connection, in the order connections were opened (1, 2, ...)."""
    rcpt_commands: int
    """How many RCPT TO commands the client sent in this transaction (accepted or refused)."""

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


class CapturingHandler:
    """aiosmtpd handler that keeps every accepted message; see the module docstring for the failures."""

    def __init__(
        self,
        *,
        fail_after: int | None = None,
        failure: Literal["disconnect", "4xx"] = "disconnect",
        reject: Iterable[str] = (),
        reject_data: Iterable[str] = (),
        per_connection_limit: int | None = None,
        hold_once: Iterable[str] = (),
        hold_seconds: float = 30.0,
    ) -> None:
        self.fail_after = fail_after
        self.failure = failure
        self.reject = frozenset(reject)
        self.reject_data = frozenset(reject_data)
        self.per_connection_limit = per_connection_limit
        self.hold_once = set(hold_once)
        self.hold_seconds = hold_seconds
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._connections = 0
        self._sessions: dict[int, _Connection] = {}

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def _connection(self, session: Session) -> _Connection:
        with self._lock:
            state = self._sessions.get(id(session))
            if state is None or state.session is not session:
                self._connections += 1
                state = _Connection(session, self._connections)
                self._sessions[id(session)] = state
            return state

    async def handle_EHLO(
        self, server: SMTPServer, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        # One write for the whole multi-line reply, as production servers do: aiosmtpd's line-by-line
        # writes meet the client's delayed ACK and cost 40 ms per connection.
        session.host_name = hostname
        return ["\r\n".join(responses)]

    async def handle_MAIL(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        state = self._connection(session)
        with self._lock:
            failing = self.fail_after is not None and len(self._received) >= self.fail_after
        limited = self.per_connection_limit is not None and state.accepted >= self.per_connection_limit
        if (failing and self.failure == "disconnect") or limited:
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            return "421 4.3.2 closing connection"
        if failing:
            return "451 4.3.0 temporary server failure"
        state.rcpts = 0
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self._connection(session).rcpts += 1
        if address in self.reject:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        state = self._connection(session)
        if self.reject_data.intersection(envelope.rcpt_tos):
            return "554 5.6.0 message content rejected"
        content = envelope.original_content or b""
        with self._lock:
            self._received.append(Received(
                str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(content), state.number, state.rcpts))
            state.accepted += 1
            held = self.hold_once.intersection(envelope.rcpt_tos)
            self.hold_once -= held
        if held:
            await asyncio.sleep(self.hold_seconds)
        return "250 2.0.0 accepted"


@dataclass
class _Connection:
    session: Session
    number: int
    accepted: int = 0
    rcpts: int = 0


def credentials_checker(user: str, password: str) -> Callable[..., AuthResult]:
    """An aiosmtpd authenticator accepting exactly one LOGIN/PLAIN user and password."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == user.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


class _BoundController(Controller):
    """A Controller that serves on a socket bound beforehand (port 0: the OS picks a free port)."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        self._sock = sock
        super().__init__(handler, hostname=HOST, port=sock.getsockname()[1], **kwargs)

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SmtpTestServer:
    """A context manager running a real SMTP server on 127.0.0.1; `.port`, `.handler`, `.received`.

    ``tls_context``: offer STARTTLS with this server context; ``implicit_tls``: wrap the whole
    connection in TLS instead (port-465 style). ``auth``: (user, password) to require AUTH.
    """

    def __init__(
        self,
        handler: CapturingHandler | None = None,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.handler = handler or CapturingHandler()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        self.host = HOST
        self.port: int = sock.getsockname()[1]
        kwargs: dict[str, Any] = {}
        if implicit_tls:
            kwargs["ssl_context"] = tls_context
        elif tls_context is not None:
            kwargs["tls_context"] = tls_context
        if auth is not None:
            kwargs["authenticator"] = credentials_checker(*auth)
            kwargs["auth_required"] = True
            # aiosmtpd only knows about STARTTLS; an implicit-TLS connection is encrypted from the start
            kwargs["auth_require_tls"] = tls_context is not None and not implicit_tls
        self._controller = _BoundController(self.handler, sock, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()

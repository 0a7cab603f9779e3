"""Sessions as objects: ``with client.create_session(...) as s:`` deletes ``s`` on exit."""
from __future__ import annotations

import enum
import socket
from typing import TYPE_CHECKING, Any, Coroutine, Dict, Generator, Optional, Tuple

from .errors import NotFound
from .v1 import session_service_pb2 as pb

if TYPE_CHECKING:  # pragma: no cover
    import asyncio

    from .aio import AsyncClient
    from .client import Client


class SessionStatus(enum.IntEnum):
    """A session's status (``agentcube.v1.SessionStatus``)."""

    UNSPECIFIED = 0
    PENDING = 1
    RUNNING = 2
    FAILED = 3
    TERMINATING = 4
    TERMINATED = 5


class SessionInfo:
    """What the server said about a session when last asked (``agentcube.v1.Session``)."""

    def __init__(self, message: pb.Session):
        self._message = message

    @property
    def proto(self) -> pb.Session:
        """The ``agentcube.v1.Session`` message itself."""
        return self._message

    id = property(lambda self: self._message.id, doc="A lower-case UUID.")
    name = property(lambda self: self._message.name, doc='"sandbox-<first 8 characters of id>".')
    namespace = property(lambda self: self._message.namespace, doc="The creator's namespace.")
    creator = property(lambda self: self._message.creator, doc="The creator's full identity.")
    image = property(lambda self: self._message.image)
    status_message = property(lambda self: self._message.status_message, doc="Why the status is what it is.")
    created_at_ms = property(lambda self: self._message.created_at_ms, doc="Unix milliseconds.")
    expires_at_ms = property(lambda self: self._message.expires_at_ms, doc="Unix milliseconds.")
    last_activity_at_ms = property(lambda self: self._message.last_activity_at_ms, doc="Unix milliseconds.")
    ttl_seconds = property(lambda self: self._message.ttl_seconds)
    idle_timeout_seconds = property(lambda self: self._message.idle_timeout_seconds, doc="0: none.")
    ssh_user = property(lambda self: self._message.ssh_user, doc="The user to log in as.")
    ssh_port = property(lambda self: self._message.ssh_port, doc="OpenTunnel's default port.")
    address = property(lambda self: self._message.address, doc="Empty on the local backend.")
    ssh_host_public_key = property(
        lambda self: self._message.ssh_host_public_key, doc="The sandbox's SSH host key, one OpenSSH line: pin it.")

    @property
    def status(self) -> SessionStatus:
        """The session's status."""
        try:
            return SessionStatus(self._message.status)
        except ValueError:
            return SessionStatus.UNSPECIFIED

    @property
    def metadata(self) -> Dict[str, str]:
        """The metadata given at creation."""
        return {pair.key: pair.value for pair in self._message.metadata}

    @property
    def host_key(self) -> Tuple[str, str]:
        """``(key type, base64)`` of ``ssh_host_public_key``, e.g. for ``paramiko.PKey.from_type_string``."""
        kind, _, rest = self._message.ssh_host_public_key.partition(" ")
        return kind, rest.split(" ")[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, status={self.status.name}, image={self.image!r})"


class Session(SessionInfo):
    """A session of a ``Client``; a context manager that deletes the session on exit."""

    def __init__(self, client: "Client", message: pb.Session):
        super().__init__(message)
        self._client = client

    def refresh(self, **call: Any) -> "Session":
        """Fetches the session again (GetSession)."""
        self._message = self._client.get_session(self.id, **call).proto
        return self

    def renew(self, ttl: int, **call: Any) -> "Session":
        """Sets the expiry to now + ``ttl`` seconds (0: the server's default TTL)."""
        self._message = self._client.renew_session(self.id, ttl, **call).proto
        return self

    def delete(self, **call: Any) -> None:
        """Deletes the session."""
        self._client.delete_session(self.id, **call)

    def open_tunnel(self, port: int = 0, **call: Any) -> socket.socket:
        """A connected socket to ``port`` of the sandbox (0: its SSH port)."""
        return self._client.open_tunnel(self.id, port, **call)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self.delete()
        except NotFound:
            pass


class AsyncSession(SessionInfo):
    """A session of an ``AsyncClient``; an async context manager that deletes it on exit."""

    def __init__(self, client: "AsyncClient", message: pb.Session):
        super().__init__(message)
        self._client = client

    async def refresh(self, **call: Any) -> "AsyncSession":
        """Fetches the session again (GetSession)."""
        self._message = (await self._client.get_session(self.id, **call)).proto
        return self

    async def renew(self, ttl: int, **call: Any) -> "AsyncSession":
        """Sets the expiry to now + ``ttl`` seconds (0: the server's default TTL)."""
        self._message = (await self._client.renew_session(self.id, ttl, **call)).proto
        return self

    async def delete(self, **call: Any) -> None:
        """Deletes the session."""
        await self._client.delete_session(self.id, **call)

    async def open_tunnel(self, port: int = 0, **call: Any) -> "Tuple[asyncio.StreamReader, asyncio.StreamWriter]":
        """A ``(reader, writer)`` stream pair to ``port`` of the sandbox (0: its SSH port)."""
        return await self._client.open_tunnel(self.id, port, **call)

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await self.delete()
        except NotFound:
            pass


class AsyncSessionCreation:
    """What ``AsyncClient.create_session`` returns: await it for the session, or use it as
    ``async with client.create_session(...) as session:`` to delete the session on exit."""

    def __init__(self, creating: "Coroutine[Any, Any, AsyncSession]"):
        self._creating = creating
        self._session: Optional[AsyncSession] = None

    def __await__(self) -> "Generator[Any, None, AsyncSession]":
        return self._creating.__await__()

    async def __aenter__(self) -> AsyncSession:
        self._session = await self._creating
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._session is not None:
            await self._session.__aexit__(*exc_info)

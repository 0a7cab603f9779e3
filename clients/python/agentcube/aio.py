"""``AsyncClient``: the client on asyncio, one multiplexed connection."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, List, NamedTuple, Optional, Tuple, Type, TypeVar

from google.protobuf.message import DecodeError, Message

from . import envelope, requests
from .connection import Connection, NotProcessed
from .credentials import TokenSource
from .errors import Internal
from .health import Health
from .session import AsyncSession, AsyncSessionCreation
from .target import Target, tls_context
from .tunnel import open_tunnel_streams
from .v1 import session_service_pb2 as pb

M = TypeVar("M", bound=Message)
SESSIONS = envelope.SESSION_SERVICE


class AsyncSessionPage(NamedTuple):
    """One page of ListSessions; ``next_page_token`` is empty on the last page."""

    sessions: List[AsyncSession]
    next_page_token: str


class AsyncClient:
    """An AgentCube client for asyncio code.

    ``target``: ``unix:PATH``, ``HOST:PORT`` or ``tls://HOST:PORT`` (default ``$AGENTCUBE_SERVER``,
    else ``unix:/tmp/agentcube/agentcube.sock``). The token: ``token``, else ``token_file``
    (re-read when it changes), else ``$AGENTCUBE_TOKEN``, else ``$AGENTCUBE_TOKEN_FILE``.
    ``timeout`` is every call's default deadline in seconds; each method takes ``timeout=`` and
    ``call_metadata=`` (a mapping or ``(key, value)`` pairs) of its own. Use as
    ``async with AsyncClient() as client:``, or call ``close()``.
    """

    def __init__(self, target: Optional[str] = None, token: Optional[str] = None, token_file: Optional[str] = None,
                 timeout: float = 30, *, ca_file: Optional[str] = None, client_cert: Optional[str] = None,
                 client_key: Optional[str] = None):
        self.target = Target.parse(target)
        self.timeout = timeout
        self._tokens = TokenSource(token, token_file)
        self._tls = tls_context(ca_file, client_cert, client_key) if self.target.tls else None
        self._connection: Optional[Connection] = None
        self._connecting: Optional[asyncio.Lock] = None

    def __repr__(self) -> str:
        return f"AsyncClient(target={self.target.text!r})"

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the connection; calls in flight fail with ``Unavailable``."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def health(self, *, timeout: Optional[float] = None, call_metadata: envelope.Metadata = None) -> Health:
        """Health/Check (no token needed)."""
        response = await self._call(envelope.HEALTH_CHECK, pb.HealthCheckRequest(), pb.HealthCheckResponse,
                                    timeout, call_metadata)
        return Health.from_proto(response)

    def create_session(self, image: str = "", ttl: int = 0, idle_timeout: int = 0, ssh_public_key: str = "",
                       ssh_user: Optional[str] = None, metadata: Optional[dict] = None, *,
                       timeout: Optional[float] = None, call_metadata: envelope.Metadata = None) -> AsyncSessionCreation:
        """Creates a session; 0 and "" mean the server's defaults. ``metadata`` is the session's.
        ``session = await client.create_session(...)``, or ``async with client.create_session(...) as
        session:`` to delete it on exit."""
        return AsyncSessionCreation(self._create_session(image, ttl, idle_timeout, ssh_public_key, ssh_user, metadata,
                                                         timeout, call_metadata))

    async def _create_session(self, image: str, ttl: int, idle_timeout: int, ssh_public_key: str,
                              ssh_user: Optional[str], metadata: Optional[dict], timeout: Optional[float],
                              call_metadata: envelope.Metadata) -> AsyncSession:
        request = requests.create_session(image, ttl, idle_timeout, ssh_public_key, ssh_user, metadata)
        response = await self._call(SESSIONS + "CreateSession", request, pb.CreateSessionResponse, timeout, call_metadata)
        return AsyncSession(self, response.session)

    async def get_session(self, id: str, *, timeout: Optional[float] = None,
                          call_metadata: envelope.Metadata = None) -> AsyncSession:
        """The session ``id`` (``NotFound``; ``PermissionDenied`` when another caller's)."""
        response = await self._call(SESSIONS + "GetSession", pb.GetSessionRequest(session_id=id),
                                    pb.GetSessionResponse, timeout, call_metadata)
        return AsyncSession(self, response.session)

    async def list_sessions(self, page_size: int = 0, page_token: str = "", *, timeout: Optional[float] = None,
                            call_metadata: envelope.Metadata = None) -> AsyncSessionPage:
        """One page of the caller's sessions (``page_size`` 0: 50)."""
        response = await self._call(SESSIONS + "ListSessions",
                                    pb.ListSessionsRequest(page_size=page_size, page_token=page_token),
                                    pb.ListSessionsResponse, timeout, call_metadata)
        return AsyncSessionPage([AsyncSession(self, s) for s in response.sessions], response.next_page_token)

    async def iter_sessions(self, page_size: int = 0, **call: Any) -> AsyncIterator[AsyncSession]:
        """Every session of the caller, page after page."""
        token = ""
        while True:
            page = await self.list_sessions(page_size, token, **call)
            for session in page.sessions:
                yield session
            token = page.next_page_token
            if not token:
                return

    async def renew_session(self, id: str, ttl: int, *, timeout: Optional[float] = None,
                            call_metadata: envelope.Metadata = None) -> AsyncSession:
        """Sets the session's expiry to now + ``ttl`` seconds (0: the default TTL)."""
        response = await self._call(SESSIONS + "RenewSession", pb.RenewSessionRequest(session_id=id, ttl_seconds=ttl),
                                    pb.RenewSessionResponse, timeout, call_metadata)
        return AsyncSession(self, response.session)

    async def delete_session(self, id: str, *, timeout: Optional[float] = None,
                             call_metadata: envelope.Metadata = None) -> None:
        """Deletes the session ``id``."""
        await self._call(SESSIONS + "DeleteSession", pb.DeleteSessionRequest(session_id=id),
                         pb.DeleteSessionResponse, timeout, call_metadata)

    async def open_tunnel(self, id: str, port: int = 0, *, timeout: Optional[float] = None,
                          call_metadata: envelope.Metadata = None) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A ``(reader, writer)`` pair carrying raw bytes to ``port`` of the sandbox (0: its SSH
        port), on a connection of its own."""
        return await open_tunnel_streams(self.target, self._tls, id, port, self._tokens.get(),
                                         self.timeout if timeout is None else timeout, call_metadata)

    async def _call(self, method: str, request: Message, response_type: Type[M], timeout: Optional[float],
                    metadata: envelope.Metadata) -> M:
        timeout = self.timeout if timeout is None else timeout
        payload = request.SerializeToString()
        token = self._tokens.get()
        for attempt in (1, 2):
            connection = await self._usable_connection()
            try:
                data = await connection.call(method, payload, token, timeout, metadata)
                break
            except NotProcessed:
                # The server started no part of this call (GOAWAY before it): once more on a new connection.
                if attempt == 2:
                    raise
        response = response_type()
        try:
            response.ParseFromString(data)
        except DecodeError:
            raise Internal(f"the server's {response_type.__name__} does not decode") from None
        return response

    async def _usable_connection(self) -> Connection:
        if self._connection is not None and self._connection.usable:
            return self._connection
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._connection is None or not self._connection.usable:
                # A connection after GOAWAY still answers its calls in flight and then closes itself.
                self._connection = await Connection.open(self.target, self.timeout, self._tls)
            return self._connection

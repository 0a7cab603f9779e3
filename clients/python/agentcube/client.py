"""``Client``: the synchronous, thread-safe client (an ``AsyncClient`` on a private event-loop thread)."""
from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any, Awaitable, Iterator, List, NamedTuple, Optional, TypeVar

from . import envelope
from .aio import AsyncClient
from .health import Health
from .session import Session
from .tunnel import open_tunnel_socket

T = TypeVar("T")


class SessionPage(NamedTuple):
    """One page of ListSessions; ``next_page_token`` is empty on the last page."""

    sessions: List[Session]
    next_page_token: str


class Client:
    """An AgentCube client: one multiplexed connection shared by every thread that calls it.

    ``target``: ``unix:PATH``, ``HOST:PORT`` or ``tls://HOST:PORT`` (``ca_file=``; default
    ``$AGENTCUBE_SERVER``, else ``unix:/tmp/agentcube/agentcube.sock``). The token: ``token``,
    else ``token_file`` (re-read when it changes), else ``$AGENTCUBE_TOKEN``, else
    ``$AGENTCUBE_TOKEN_FILE``. ``timeout`` is each call's default deadline in seconds; every method
    takes ``timeout=`` and ``call_metadata=`` of its own. Failed calls raise a subclass of
    ``agentcube.RPCError`` named after the status code::

        with agentcube.Client("unix:/tmp/agentcube/agentcube.sock") as client:
            with client.create_session(ssh_public_key=key) as session:
                sock = session.open_tunnel(port=22)
    """

    def __init__(self, target: Optional[str] = None, token: Optional[str] = None, token_file: Optional[str] = None,
                 timeout: float = 30, *, ca_file: Optional[str] = None, client_cert: Optional[str] = None,
                 client_key: Optional[str] = None):
        self._async = AsyncClient(target, token, token_file, timeout, ca_file=ca_file, client_cert=client_cert,
                                  client_key=client_key)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="agentcube-client", daemon=True)
        self._thread.start()
        self._closed = False

    target = property(lambda self: self._async.target, doc="The parsed target.")
    timeout = property(lambda self: self._async.timeout, doc="The default deadline of each call, in seconds.")

    def __repr__(self) -> str:
        return f"Client(target={self.target.text!r})"

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True) and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)

    def close(self) -> None:
        """Closes the connection and the client's thread; calls in flight fail with ``Unavailable``."""
        if self._closed:
            return
        self._closed = True
        try:
            self._run(self._async.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def health(self, **call: Any) -> Health:
        """Health/Check (no token needed)."""
        return self._run(self._async.health(**call))

    def create_session(self, image: str = "", ttl: int = 0, idle_timeout: int = 0, ssh_public_key: str = "",
                       ssh_user: Optional[str] = None, metadata: Optional[dict] = None, **call: Any) -> Session:
        """Creates a session; 0 and "" mean the server's defaults. ``metadata`` is the session's.
        ``with client.create_session(...) as s:`` deletes it on exit."""
        created = self._run(self._async._create_session(image, ttl, idle_timeout, ssh_public_key, ssh_user, metadata,
                                                        call.get("timeout"), call.get("call_metadata")))
        return Session(self, created.proto)

    def get_session(self, id: str, **call: Any) -> Session:
        """The session ``id`` (``NotFound``; ``PermissionDenied`` when another caller's)."""
        return Session(self, self._run(self._async.get_session(id, **call)).proto)

    def list_sessions(self, page_size: int = 0, page_token: str = "", **call: Any) -> SessionPage:
        """One page of the caller's sessions (``page_size`` 0: 50)."""
        page = self._run(self._async.list_sessions(page_size, page_token, **call))
        return SessionPage([Session(self, s.proto) for s in page.sessions], page.next_page_token)

    def iter_sessions(self, page_size: int = 0, **call: Any) -> Iterator[Session]:
        """Every session of the caller, page after page."""
        token = ""
        while True:
            page = self.list_sessions(page_size, token, **call)
            yield from page.sessions
            token = page.next_page_token
            if not token:
                return

    def renew_session(self, id: str, ttl: int, **call: Any) -> Session:
        """Sets the session's expiry to now + ``ttl`` seconds (0: the default TTL)."""
        return Session(self, self._run(self._async.renew_session(id, ttl, **call)).proto)

    def delete_session(self, id: str, **call: Any) -> None:
        """Deletes the session ``id``."""
        self._run(self._async.delete_session(id, **call))

    def open_tunnel(self, id: str, port: int = 0, *, timeout: Optional[float] = None,
                    call_metadata: envelope.Metadata = None) -> socket.socket:
        """A connected blocking socket carrying raw bytes to ``port`` of the sandbox (0: its SSH
        port), on a connection of its own: ``paramiko.Transport(sock)`` runs SSH over it."""
        a = self._async
        return open_tunnel_socket(a.target, a._tls, id, port, a._tokens.get(),
                                  a.timeout if timeout is None else timeout, call_metadata)

    def _run(self, coroutine: Awaitable[T]) -> T:
        if self._closed and not self._loop.is_running():
            coroutine.close()  # type: ignore[attr-defined]
            raise RuntimeError("the client is closed")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

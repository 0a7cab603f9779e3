"""One multiplexed connection on asyncio (docs/protocol.md §2–§8): calls matched to RESPONSEs by
call id, PINGs answered, GOAWAY honoured, every frame's length checked before it is read."""
from __future__ import annotations

import asyncio
import ssl
import struct
from typing import Dict, Optional

from . import envelope
from .errors import DeadlineExceeded, RPCError, ResourceExhausted, StatusCode, Unavailable
from .target import Target
from .wire import (
    DEFAULT_MAX_FRAME_SIZE,
    HEADER,
    PING_ACK,
    PING_LENGTH,
    Frame,
    FrameType,
    ProtocolError,
    check_length,
    encode_preface,
    parse_header,
    parse_preface,
)

#: Seconds the rest of a frame may take once its first byte is in (the server's own limit).
FRAME_READ_TIMEOUT = 10.0
MAX_CALL_ID = 0xFFFFFFFF


class NotProcessed(Unavailable):
    """The call was not started: the connection was closing (GOAWAY) before it; retry on a new one."""


async def open_streams(target: Target, timeout: float, tls_context: Optional[ssl.SSLContext]):
    """A connected ``(reader, writer)`` pair; ``Unavailable`` with the reason when it fails."""
    try:
        if target.unix_path is not None:
            opening = asyncio.open_unix_connection(target.unix_path)
        else:
            opening = asyncio.open_connection(
                target.host, target.port, ssl=tls_context if target.tls else None,
                server_hostname=target.host if target.tls else None,
            )
        return await asyncio.wait_for(opening, timeout)
    except asyncio.TimeoutError:
        raise Unavailable(f"cannot connect to {target.text}: timed out") from None
    except ssl.SSLCertVerificationError as error:
        raise Unavailable(f"cannot connect to {target.text}: TLS handshake failed: {error.verify_message}") from None
    except ssl.SSLError as error:
        raise Unavailable(f"cannot connect to {target.text}: TLS handshake failed: {error.reason or error}") from None
    except OSError as error:
        raise Unavailable(f"cannot connect to {target.text}: {error.strerror or error}") from None


async def read_frame(reader: asyncio.StreamReader, max_frame_size: int) -> Frame:
    """The next frame; waits without limit for its first byte, then at most ``FRAME_READ_TIMEOUT``
    for the rest. The length is checked before the payload is read."""
    first = await reader.readexactly(1)
    length = first + await asyncio.wait_for(reader.readexactly(3), FRAME_READ_TIMEOUT)
    check_length(struct.unpack(">I", length)[0], max_frame_size)
    head = length + await asyncio.wait_for(reader.readexactly(HEADER.size - 4), FRAME_READ_TIMEOUT)
    size, kind, flags, call_id = parse_header(head, max_frame_size)
    payload = await asyncio.wait_for(reader.readexactly(size), FRAME_READ_TIMEOUT) if size else b""
    return Frame(kind, flags, call_id, payload)


class Connection:
    """A connection carrying any number of concurrent unary calls."""

    def __init__(self, target: Target, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.target = target
        self._reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._calls: Dict[int, asyncio.Future] = {}
        self._next_call_id = 1
        self._peer_max_frame_size = DEFAULT_MAX_FRAME_SIZE
        self._peer_max_calls = 100
        self._closed: Optional[RPCError] = None
        self._goaway: Optional[str] = None
        self._reading: Optional[asyncio.Task] = None

    @classmethod
    async def open(cls, target: Target, timeout: float, tls_context: Optional[ssl.SSLContext]) -> "Connection":
        """Connects, sends the preface and SETTINGS and reads the server's preface."""
        reader, writer = await open_streams(target, timeout, tls_context)
        connection = cls(target, reader, writer)
        try:
            writer.write(encode_preface() + envelope.settings_frame())
            await asyncio.wait_for(writer.drain(), timeout)
            parse_preface(await asyncio.wait_for(reader.readexactly(8), timeout))
        except BaseException as error:
            writer.close()
            if isinstance(error, asyncio.TimeoutError):
                raise Unavailable(f"{target.text} sent no AgentCube preface within {timeout} s") from None
            if isinstance(error, (OSError, asyncio.IncompleteReadError)):
                raise Unavailable(f"{target.text} closed the connection before its preface") from None
            if isinstance(error, ProtocolError):
                raise Unavailable(f"{target.text}: {error}") from None
            raise
        connection._reading = asyncio.ensure_future(connection._read_loop())
        return connection

    @property
    def usable(self) -> bool:
        """Whether new calls may start here (not closed, no GOAWAY received)."""
        return self._closed is None and self._goaway is None

    async def call(self, method: str, message: bytes, token: Optional[str], timeout: Optional[float],
                   metadata: envelope.Metadata = None) -> bytes:
        """Runs one call; returns the response message or raises its ``RPCError``."""
        if not self.usable:
            raise NotProcessed(self._goaway or str(self._closed))
        if len(self._calls) >= self._peer_max_calls:
            raise ResourceExhausted(f"too many calls in flight on this connection (max {self._peer_max_calls})")
        call_id = self._allocate_call_id()
        frame = envelope.request_frame(call_id, method, message, token, timeout, metadata)
        if len(frame) - 4 > self._peer_max_frame_size:
            raise ResourceExhausted(
                f"the request is {len(frame) - 4} bytes, over the server's maximum frame size {self._peer_max_frame_size}")
        future = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        try:
            await self._write(frame)
            payload = await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            await self._cancel(call_id)
            raise DeadlineExceeded(f"no answer within the deadline of {timeout:g} s") from None
        except asyncio.CancelledError:
            await self._cancel(call_id)
            raise
        finally:
            self._calls.pop(call_id, None)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: it may have failed after this call stopped waiting
            else:
                future.cancel()
        return envelope.response_message(payload)

    async def close(self) -> None:
        """Says GOAWAY and closes; calls still in flight fail with ``Unavailable``."""
        if self._closed is None:
            try:
                self._writer.write(Frame(FrameType.GOAWAY, 0, 0, b"").encode())
            except (OSError, RuntimeError):
                pass
        self._fail(Unavailable("the client closed the connection"))
        if self._reading is not None:
            self._reading.cancel()
            try:
                await self._reading
            except BaseException:
                pass

    def _allocate_call_id(self) -> int:
        while True:
            call_id = self._next_call_id
            self._next_call_id = call_id + 1 if call_id < MAX_CALL_ID else 1
            if call_id not in self._calls:
                return call_id

    async def _write(self, data: bytes) -> None:
        async with self._write_lock:
            if self._closed is not None:
                raise NotProcessed(str(self._closed))
            try:
                self._writer.write(data)
                await self._writer.drain()
            except (OSError, RuntimeError) as error:
                # The reader usually knows better why (a GOAWAY, a broken frame): give it a moment.
                if self._reading is not None and self._reading is not asyncio.current_task():
                    await asyncio.wait([self._reading], timeout=1.0)
                self._fail(Unavailable(f"connection to {self.target.text} lost: {error}"))
                assert self._closed is not None
                raise type(self._closed)(self._closed.message) from None

    async def _cancel(self, call_id: int) -> None:
        self._calls.pop(call_id, None)
        if self._closed is None:
            try:
                await asyncio.shield(self._write(Frame(FrameType.CANCEL, 0, call_id).encode()))
            except (RPCError, asyncio.CancelledError):
                pass

    async def _read_loop(self) -> None:
        try:
            while True:
                frame = await read_frame(self._reader, DEFAULT_MAX_FRAME_SIZE)
                await self._handle(frame)
        except asyncio.IncompleteReadError:
            self._fail(Unavailable(self._goaway or f"{self.target.text} closed the connection"))
        except asyncio.TimeoutError:
            self._fail(Unavailable(f"{self.target.text} sent part of a frame and then nothing for {FRAME_READ_TIMEOUT:g} s"))
        except ProtocolError as error:
            self._fail(Unavailable(f"{self.target.text} broke the protocol: {error}"))
        except OSError as error:
            self._fail(Unavailable(f"connection to {self.target.text} lost: {error}"))
        except asyncio.CancelledError:
            pass
        finally:
            self._writer.close()

    async def _handle(self, frame: Frame) -> None:
        if frame.type == FrameType.RESPONSE:
            future = self._calls.get(frame.call_id)
            if future is not None and not future.done():
                future.set_result(frame.payload)
        elif frame.type == FrameType.PING:
            if len(frame.payload) != PING_LENGTH:
                raise ProtocolError(f"a PING carries exactly 8 bytes, not {len(frame.payload)}")
            if not frame.flags & PING_ACK:
                await self._write(Frame(FrameType.PING, PING_ACK, 0, frame.payload).encode())
        elif frame.type == FrameType.GOAWAY:
            message = envelope.goaway(frame.payload)
            code = StatusCode(message.code).name if message.code in StatusCode._value2member_map_ else message.code
            self._goaway = f"the server sent GOAWAY ({code}): {message.message}"
            for call_id, future in list(self._calls.items()):
                if call_id > message.last_call_id and not future.done():
                    future.set_exception(NotProcessed(self._goaway))
        elif frame.type == FrameType.SETTINGS:
            settings = envelope.settings(frame.payload)
            if settings is None:
                raise ProtocolError("malformed SETTINGS payload")
            if settings.max_frame_size:
                self._peer_max_frame_size = settings.max_frame_size
            if settings.max_concurrent_calls:
                self._peer_max_calls = settings.max_concurrent_calls
        elif frame.type in (FrameType.REQUEST, FrameType.CANCEL):
            raise ProtocolError(f"a server must not send {FrameType(frame.type).name} frames")
        # Unknown frame types are ignored (§3).

    def _fail(self, error: RPCError) -> None:
        if self._closed is None:
            self._closed = error
        for future in self._calls.values():
            if not future.done():
                future.set_exception(type(error)(error.message))
        self._calls.clear()

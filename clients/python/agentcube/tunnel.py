"""OpenTunnel (docs/protocol.md §9): a fresh connection that turns into a raw byte stream.

The handshake reads exactly the frames before the answer and not one byte more, so the socket
handed back starts at the first tunnel byte.
"""
from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import time
from typing import Optional, Tuple

from . import envelope
from .connection import FRAME_READ_TIMEOUT, open_streams
from .errors import DeadlineExceeded, RPCError, Unavailable
from .target import Target
from .v1 import session_service_pb2 as pb
from .wire import (DEFAULT_MAX_FRAME_SIZE, HEADER, Frame, FrameType, ProtocolError, check_length, encode_preface,
                   parse_header,
                   parse_preface)

OPEN_TUNNEL = envelope.SESSION_SERVICE + "OpenTunnel"


def opening_bytes(session_id: str, port: int, token: Optional[str], timeout: Optional[float],
                  metadata: envelope.Metadata = None) -> bytes:
    """Preface, SETTINGS and the OpenTunnel REQUEST (call id 1), sent in one write."""
    request = pb.OpenTunnelRequest(session_id=session_id, port=port).SerializeToString()
    return encode_preface() + envelope.settings_frame() + envelope.request_frame(
        1, OPEN_TUNNEL, request, token, timeout, metadata)


def answer(frame: Frame) -> Optional[str]:
    """The tunnel's target once ``frame`` is the OpenTunnel answer; ``None`` for a frame to skip
    (SETTINGS, PING: never answered, every byte sent now is tunnel data); raises its error."""
    if frame.type == FrameType.RESPONSE and frame.call_id == 1:
        response = pb.OpenTunnelResponse()
        response.ParseFromString(envelope.response_message(frame.payload))
        return response.target
    if frame.type == FrameType.GOAWAY:
        message = envelope.goaway(frame.payload)
        raise RPCError.from_status(message.code or 14, message.message or "the server sent GOAWAY")
    return None


def _recv_exact(sock: socket.socket, count: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        sock.settimeout(remaining)
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise Unavailable("the server closed the connection before answering OpenTunnel")
        data += chunk
    return bytes(data)


def open_tunnel_socket(target: Target, tls_context: Optional[ssl.SSLContext], session_id: str, port: int,
                       token: Optional[str], timeout: float, metadata: envelope.Metadata = None) -> socket.socket:
    """A blocking socket carrying raw bytes to ``port`` of the session's sandbox."""
    deadline = time.monotonic() + timeout
    sock = target.connect(timeout, tls_context)
    try:
        sock.sendall(opening_bytes(session_id, port, token, timeout, metadata))
        parse_preface(_recv_exact(sock, 8, deadline))
        while True:
            length = _recv_exact(sock, 4, deadline)
            check_length(struct.unpack(">I", length)[0], DEFAULT_MAX_FRAME_SIZE)
            head = length + _recv_exact(sock, HEADER.size - 4, deadline)
            size, kind, flags, call_id = parse_header(head, DEFAULT_MAX_FRAME_SIZE)
            payload = _recv_exact(sock, size, min(deadline, time.monotonic() + FRAME_READ_TIMEOUT))
            if answer(Frame(kind, flags, call_id, payload)) is not None:
                sock.settimeout(None)
                return sock
    except socket.timeout:
        sock.close()
        raise DeadlineExceeded(f"OpenTunnel got no answer within {timeout:g} s") from None
    except ProtocolError as error:
        sock.close()
        raise Unavailable(f"{target.text} broke the protocol: {error}") from None
    except OSError as error:
        sock.close()
        raise Unavailable(f"connection to {target.text} lost: {error}") from None
    except BaseException:
        sock.close()
        raise


async def open_tunnel_streams(target: Target, tls_context: Optional[ssl.SSLContext], session_id: str, port: int,
                              token: Optional[str], timeout: float,
                              metadata: envelope.Metadata = None) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A ``(reader, writer)`` stream pair carrying raw bytes to ``port`` of the session's sandbox;
    bytes the server sent right after its answer are already in ``reader``."""
    reader, writer = await open_streams(target, timeout, tls_context)

    async def handshake():
        writer.write(opening_bytes(session_id, port, token, timeout, metadata))
        await writer.drain()
        parse_preface(await reader.readexactly(8))
        while True:
            length = await reader.readexactly(4)
            check_length(struct.unpack(">I", length)[0], DEFAULT_MAX_FRAME_SIZE)
            head = length + await reader.readexactly(HEADER.size - 4)
            size, kind, flags, call_id = parse_header(head, DEFAULT_MAX_FRAME_SIZE)
            payload = await reader.readexactly(size)
            if answer(Frame(kind, flags, call_id, payload)) is not None:
                return

    try:
        await asyncio.wait_for(handshake(), timeout)
        return reader, writer
    except asyncio.TimeoutError:
        writer.close()
        raise DeadlineExceeded(f"OpenTunnel got no answer within {timeout:g} s") from None
    except asyncio.IncompleteReadError:
        writer.close()
        raise Unavailable("the server closed the connection before answering OpenTunnel") from None
    except ProtocolError as error:
        writer.close()
        raise Unavailable(f"{target.text} broke the protocol: {error}") from None
    except OSError as error:
        writer.close()
        raise Unavailable(f"connection to {target.text} lost: {error}") from None
    except BaseException:
        writer.close()
        raise

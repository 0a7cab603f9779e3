"""The call envelope (docs/protocol.md §4–§5): SETTINGS, REQUEST and RESPONSE payloads."""
from __future__ import annotations

from typing import Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from google.protobuf.message import DecodeError

from .errors import RPCError, Unavailable
from .v1 import wire_pb2
from .wire import DEFAULT_MAX_FRAME_SIZE, PROTOCOL_VERSION, Frame, FrameType

AGENT = "agentcube-python/0.1"
HEALTH_CHECK = "/agentcube.v1.Health/Check"
SESSION_SERVICE = "/agentcube.v1.SessionService/"

#: Call metadata: a mapping, or ``(key, value)`` pairs when a key repeats.
Metadata = Union[Mapping[str, str], Sequence[Tuple[str, str]], None]


def settings_frame(max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """The client's SETTINGS frame."""
    settings = wire_pb2.Settings(max_frame_size=max_frame_size, protocol_version=PROTOCOL_VERSION, agent=AGENT)
    return Frame(FrameType.SETTINGS, 0, 0, settings.SerializeToString()).encode()


def metadata_pairs(metadata: Metadata) -> List[Tuple[str, str]]:
    """``metadata`` as pairs with lower-case keys."""
    if not metadata:
        return []
    items: Iterable[Tuple[str, str]] = metadata.items() if isinstance(metadata, Mapping) else metadata
    return [(str(key).lower(), str(value)) for key, value in items]


def request_frame(
    call_id: int,
    method: str,
    message: bytes,
    token: Optional[str],
    timeout: Optional[float],
    metadata: Metadata = None,
) -> bytes:
    """A REQUEST frame: the method, ``authorization: Bearer <token>`` when there is a token, the
    caller's metadata, the relative deadline in microseconds (0 for none) and the message."""
    request = wire_pb2.Request(method=method, message=message)
    if token is not None and method != HEALTH_CHECK:
        request.metadata.add(key="authorization", value=f"Bearer {token}")
    for key, value in metadata_pairs(metadata):
        request.metadata.add(key=key, value=value)
    if timeout is not None:
        request.timeout_micros = max(1, int(timeout * 1_000_000))
    return Frame(FrameType.REQUEST, 0, call_id, request.SerializeToString()).encode()


def response_message(payload: bytes) -> bytes:
    """The response message of a RESPONSE payload, or the ``RPCError`` of its status."""
    response = wire_pb2.Response()
    try:
        response.ParseFromString(payload)
    except DecodeError:
        raise Unavailable("the server sent a RESPONSE that does not decode") from None
    status = response.status
    if status.code != 0:
        raise RPCError.from_status(status.code, status.message, [(d.type, d.value) for d in status.details])
    return response.message


def goaway(payload: bytes) -> wire_pb2.GoAway:
    """A GOAWAY payload (an empty one when it does not decode)."""
    message = wire_pb2.GoAway()
    try:
        message.ParseFromString(payload)
    except DecodeError:
        pass
    return message


def settings(payload: bytes) -> Optional[wire_pb2.Settings]:
    """A SETTINGS payload, or ``None`` when it does not decode."""
    message = wire_pb2.Settings()
    try:
        message.ParseFromString(payload)
    except DecodeError:
        return None
    return message

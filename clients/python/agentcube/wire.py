"""The framing of docs/protocol.md §2–§3: preface, frame header, a bounded frame decoder. No I/O."""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import List, Optional

PREFACE_MAGIC = b"ACUBE\x00"
PREFACE_LENGTH = 8
PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME_SIZE = 4 * 1024 * 1024
MINIMUM_MAX_FRAME_SIZE = 16 * 1024
HEADER = struct.Struct(">IBBI")  # length, type, flags, call id
HEADER_SIZE = 6  # bytes of a frame counted by `length` before the payload
PING_ACK = 0x01
PING_LENGTH = 8


class FrameType(enum.IntEnum):
    """The type byte of a frame."""

    SETTINGS = 0
    REQUEST = 1
    RESPONSE = 2
    CANCEL = 3
    PING = 4
    GOAWAY = 5


class ProtocolError(Exception):
    """The peer broke the framing rules (a bad preface, a frame length out of bounds)."""


@dataclass(frozen=True)
class Frame:
    """One frame; ``type`` is an int so unknown types survive decoding (they are ignored)."""

    type: int
    flags: int
    call_id: int
    payload: bytes = b""

    def encode(self) -> bytes:
        """The frame's bytes: length, type, flags, call id, payload."""
        return HEADER.pack(HEADER_SIZE + len(self.payload), self.type, self.flags, self.call_id) + self.payload


def encode_preface(version: int = PROTOCOL_VERSION) -> bytes:
    """The 8-byte preface offering ``version``."""
    return PREFACE_MAGIC + struct.pack(">H", version)


def parse_preface(data: bytes) -> int:
    """The version in an 8-byte preface; ``ProtocolError`` when the bytes are not one."""
    if len(data) != PREFACE_LENGTH or not data.startswith(PREFACE_MAGIC):
        raise ProtocolError("the server did not answer with the AgentCube preface")
    return struct.unpack(">H", data[6:])[0]


def check_length(length: int, max_frame_size: int) -> None:
    """Raises ``ProtocolError`` for a ``length`` field out of bounds, before anything is read for it."""
    if length < HEADER_SIZE:
        raise ProtocolError(f"frame length {length} is shorter than the 6-byte frame header")
    if length > max_frame_size:
        raise ProtocolError(f"frame length {length} exceeds the maximum frame size {max_frame_size}")


def parse_header(head: bytes, max_frame_size: int) -> "tuple[int, int, int, int]":
    """``(payload length, type, flags, call id)`` from the 10 header bytes, the length checked first."""
    length, kind, flags, call_id = HEADER.unpack(head)
    check_length(length, max_frame_size)
    return length - HEADER_SIZE, kind, flags, call_id


class FrameDecoder:
    """Cuts frames out of a byte stream, checking each length as soon as its 4 bytes are in.

    ``feed`` bytes, then take whole frames from ``frames()``; bytes after the last whole frame
    stay in ``buffer`` (after an OpenTunnel answer they are tunnel data).
    """

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE):
        self.max_frame_size = max_frame_size
        self.buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= 4:
            check_length(struct.unpack_from(">I", self.buffer)[0], self.max_frame_size)

    def next_frame(self) -> Optional[Frame]:
        """The next whole frame, or ``None`` when more bytes are needed."""
        if len(self.buffer) < 4:
            return None
        length = struct.unpack_from(">I", self.buffer)[0]
        check_length(length, self.max_frame_size)
        if len(self.buffer) < 4 + length:
            return None
        _, kind, flags, call_id = HEADER.unpack_from(self.buffer)
        payload = bytes(self.buffer[HEADER.size : 4 + length])
        del self.buffer[: 4 + length]
        return Frame(kind, flags, call_id, payload)

    def frames(self) -> List[Frame]:
        """Every whole frame buffered."""
        out = []
        while True:
            frame = self.next_frame()
            if frame is None:
                return out
            out.append(frame)

    @property
    def partial(self) -> bool:
        """Whether part of a frame is buffered."""
        return bool(self.buffer)

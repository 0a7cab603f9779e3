#!/usr/bin/env python3
"""Regenerates docs/protocol.md section 11: one CreateSession exchange with a running server.

Sends the bytes the Swift client sends (preface, SETTINGS, one CreateSession REQUEST) to the Unix
socket given, reads the server's preface, SETTINGS and RESPONSE, and prints both directions as
annotated hex for the document. Standard library only; the protobuf walking here knows just the
messages of this exchange.

    scripts/protocol-example.py SOCKET TOKEN SSH_PUBLIC_KEY_LINE > example.md
"""
import socket
import struct
import sys

# field number -> (name, kind); kind: "varint", "string", "bytes:<Message>", or a message name.
SCHEMA = {
    "Settings": {1: ("max_frame_size", "varint"), 2: ("max_concurrent_calls", "varint"),
                 3: ("protocol_version", "varint"), 4: ("agent", "string")},
    "Request": {1: ("method", "string"), 2: ("metadata", "MetadataEntry"), 3: ("timeout_micros", "varint"),
                4: ("message", "bytes:CreateSessionRequest")},
    "MetadataEntry": {1: ("key", "string"), 2: ("value", "string")},
    "Response": {1: ("status", "Status"), 2: ("message", "bytes:CreateSessionResponse"),
                 3: ("trailers", "MetadataEntry")},
    "Status": {1: ("code", "varint"), 2: ("message", "string")},
    "CreateSessionRequest": {1: ("image", "string"), 2: ("ttl_seconds", "varint"), 3: ("ssh_public_key", "string"),
                             5: ("idle_timeout_seconds", "varint")},
    "CreateSessionResponse": {1: ("session", "Session")},
    "Session": {1: ("id", "string"), 2: ("name", "string"), 3: ("namespace", "string"), 4: ("creator", "string"),
                5: ("image", "string"), 6: ("status", "varint"), 7: ("status_message", "string"),
                8: ("created_at_ms", "varint"), 9: ("expires_at_ms", "varint"), 10: ("last_activity_at_ms", "varint"),
                11: ("ttl_seconds", "varint"), 12: ("idle_timeout_seconds", "varint"), 14: ("ssh_user", "string"),
                15: ("ssh_port", "varint"), 16: ("address", "string"), 17: ("ssh_host_public_key", "string")},
}
FRAME_TYPES = {0: "SETTINGS", 1: "REQUEST", 2: "RESPONSE", 3: "CANCEL", 4: "PING", 5: "GOAWAY"}
STATUS = {2: "RUNNING"}


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number, kind, value):
    if kind == 0:
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def frame(kind, call_id, payload):
    return struct.pack(">IBBI", 6 + len(payload), kind, 0, call_id) + payload


def read_varint(data, offset):
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, offset


class Printer:
    def __init__(self):
        self.lines = []

    def row(self, data, note):
        for start in range(0, max(len(data), 1), 16):
            chunk = " ".join(f"{b:02x}" for b in data[start:start + 16])
            self.lines.append(f"{chunk:<48} {note if start == 0 else '…'}".rstrip())

    def message(self, data, name, indent=""):
        schema = SCHEMA[name]
        offset = 0
        while offset < len(data):
            start = offset
            tag, offset = read_varint(data, offset)
            number, wire = tag >> 3, tag & 7
            field_name, kind = schema.get(number, (f"field {number}", "bytes"))
            if wire == 0:
                value, offset = read_varint(data, offset)
                shown = f"{value} ({STATUS.get(value, value)})" if field_name == "status" and name == "Session" else value
                self.row(data[start:offset], f"{indent}{field_name} = {shown}")
                continue
            length, body = read_varint(data, offset)
            offset = body + length
            value = data[body:offset]
            if kind == "string":
                text = value.decode()
                if field_name == "value" and text.startswith("Bearer "):
                    text = "Bearer " + text[7:]
                self.row(data[start:offset], f'{indent}{field_name} = "{text}"')
            elif kind.startswith("bytes:") or kind in SCHEMA:
                inner = kind.split(":")[-1]
                self.row(data[start:body], f"{indent}{field_name} = {inner} ({length} bytes):")
                self.message(value, inner, indent + "  ")
            else:
                self.row(data[start:offset], f"{indent}{field_name} ({length} bytes)")

    def frame(self, data, offset, payload_schema):
        length, kind, flags, call_id = struct.unpack(">IBBI", data[offset:offset + 10])
        self.row(data[offset:offset + 10],
                 f"frame: length {length}, type {kind} ({FRAME_TYPES.get(kind, '?')}), flags {flags}, call id {call_id}")
        self.message(data[offset + 10:offset + 4 + length], payload_schema[kind], "  ")
        return offset + 4 + length


def main():
    path, token, key = sys.argv[1], sys.argv[2], sys.argv[3]
    preface = b"ACUBE\x00" + struct.pack(">H", 1)
    settings = field(1, 0, 4194304) + field(3, 0, 1) + field(4, 2, b"agentcube-swift/0.1")
    metadata = field(1, 2, b"authorization") + field(2, 2, f"Bearer {token}".encode())
    create = field(2, 0, 600) + field(3, 2, key.encode())
    request = (field(1, 2, b"/agentcube.v1.SessionService/CreateSession") + field(2, 2, metadata)
               + field(3, 0, 30_000_000) + field(4, 2, create))
    sent = preface + frame(0, 0, settings) + frame(1, 1, request)

    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(60)
    connection.connect(path)
    connection.sendall(sent)
    received = b""
    frames = 0
    while frames < 2:
        chunk = connection.recv(65536)
        if not chunk:
            sys.exit("the server closed the connection early")
        received += chunk
        offset, frames = 8, 0
        while len(received) >= offset + 4:
            (length,) = struct.unpack(">I", received[offset:offset + 4])
            if len(received) < offset + 4 + length:
                break
            offset += 4 + length
            frames += 1
    connection.close()

    for title, data in (("Client → server", sent), ("Server → client", received)):
        printer = Printer()
        printer.row(data[:8], f'preface: "ACUBE" 00, version 0x{data[6]:02x}{data[7]:02x}')
        offset = 8
        schemas = {0: "Settings", 1: "Request", 2: "Response"}
        while offset < len(data):
            offset = printer.frame(data, offset, schemas)
        print(f"{title} ({len(data)} bytes):\n\n```")
        print("\n".join(printer.lines))
        print("```\n")


if __name__ == "__main__":
    main()

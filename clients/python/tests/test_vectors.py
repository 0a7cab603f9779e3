"""Protos/testdata/vectors.txt against Python's official protobuf, the client's framing and the live server."""
import socket
import struct

import pytest
from google.protobuf import text_format

from agentcube import StatusCode, envelope, wire
from agentcube.v1 import session_service_pb2, wire_pb2
from vectors import BY_NAME, of_kind

TYPES = {m.DESCRIPTOR.full_name: m for mod in (wire_pb2, session_service_pb2)
         for m in vars(mod).values() if isinstance(m, type) and hasattr(m, "DESCRIPTOR")}
READ_TIMEOUT = 10.0


def ids(vectors):
    return [v.name for v in vectors]


@pytest.mark.parametrize("vector", of_kind("message"), ids=ids(of_kind("message")))
def test_official_protobuf_encodes_each_sample_to_its_bytes(vector):
    message = TYPES[vector.fields["type"]]()
    text_format.Parse(vector.text, message)
    assert message.SerializeToString(deterministic=True).hex() == vector.bytes("hex").hex()


@pytest.mark.parametrize("vector", of_kind("message"), ids=ids(of_kind("message")))
def test_official_protobuf_decodes_each_sample_to_its_text(vector):
    message = TYPES[vector.fields["type"]]()
    message.ParseFromString(vector.bytes("hex"))
    assert text_format.MessageToString(message, as_utf8=False) == vector.text


@pytest.mark.parametrize("vector", of_kind("preface"), ids=ids(of_kind("preface")))
def test_prefaces(vector):
    assert wire.parse_preface(vector.bytes("hex")) == int(vector.fields["version"])
    assert wire.encode_preface(int(vector.fields["version"])) == vector.bytes("hex")


def test_a_preface_of_other_bytes_is_refused():
    with pytest.raises(wire.ProtocolError):
        wire.parse_preface(b"SSH-2.0-")


def frame_payload(vector):
    name = vector.fields.get("payload")
    if name == "-":
        return b""
    if name:
        return BY_NAME[name].bytes("hex")
    return vector.bytes("payload_hex")


@pytest.mark.parametrize("vector", of_kind("frame"), ids=ids(of_kind("frame")))
def test_frames_decode_and_encode(vector):
    kind = vector.fields["type"]
    expected_type = int(kind) if kind.isdigit() else wire.FrameType[kind]
    decoder = wire.FrameDecoder()
    data = vector.bytes("hex")
    for index in range(len(data)):  # byte by byte: the same frame however the bytes arrive
        decoder.feed(data[index:index + 1])
    (frame,) = decoder.frames()
    assert (frame.type, frame.flags, frame.call_id) == (expected_type, int(vector.fields["flags"]),
                                                        int(vector.fields["call_id"]))
    assert frame.payload == frame_payload(vector)
    assert frame.encode() == data and not decoder.partial


@pytest.mark.parametrize("vector", of_kind("tunnel"), ids=ids(of_kind("tunnel")))
def test_the_tunnel_switch_leaves_the_raw_bytes(vector):
    data = vector.bytes("hex") + vector.bytes("raw")
    assert wire.parse_preface(data[:8]) == 1
    decoder = wire.FrameDecoder()
    decoder.feed(data[8:])
    switch = wire.FrameType.REQUEST if vector.fields["side"] == "client" else wire.FrameType.RESPONSE
    while True:
        # Frames are taken one at a time, stopping at the switch: what follows is not frames.
        frame = decoder.next_frame()
        if frame.type == switch:
            break
        assert frame.type == wire.FrameType.SETTINGS
    assert bytes(decoder.buffer) == vector.bytes("raw")


def test_the_client_sends_the_documented_opening_bytes():
    """Python's own SETTINGS and REQUEST frames, compared with the vectors after the agent name."""
    settings = wire_pb2.Settings()
    frames = wire.FrameDecoder()
    frames.feed(envelope.settings_frame())
    settings.ParseFromString(frames.next_frame().payload)
    assert (settings.max_frame_size, settings.protocol_version) == (4194304, 1)
    create = BY_NAME["create-session-request"].bytes("hex")
    frame = envelope.request_frame(1, "/agentcube.v1.SessionService/CreateSession", create,
                                   "alice-token-0123456789", 30)
    assert frame == BY_NAME["frame-request-create-session"].bytes("hex")


def test_oversize_length_is_refused_before_the_payload():
    decoder = wire.FrameDecoder()
    with pytest.raises(wire.ProtocolError, match="exceeds the maximum frame size 4194304"):
        decoder.feed(struct.pack(">I", 4 * 1024 * 1024 + 1))
    with pytest.raises(wire.ProtocolError, match="shorter than the 6-byte frame header"):
        wire.FrameDecoder().feed(struct.pack(">I", 5))


def read_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError(f"closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def read_frame(sock):
    head = read_exact(sock, 10)
    size, kind, flags, call_id = wire.parse_header(head, wire.DEFAULT_MAX_FRAME_SIZE)
    return wire.Frame(kind, flags, call_id, read_exact(sock, size))


def read_all(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize("vector", of_kind("exchange"), ids=ids(of_kind("exchange")))
def test_the_server_answers_each_exchange(server, vector):
    path = server.unix_target[len("unix:"):]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(READ_TIMEOUT)
        sock.connect(path)
        own_preface = vector.fields.get("preface") != "none"
        opening = wire.encode_preface() + BY_NAME["frame-settings-client"].bytes("hex") if own_preface else b""
        sock.sendall(opening + vector.bytes("send"))
        expect = vector.fields["expect"]
        if expect == "http":
            assert read_all(sock).decode() == vector.text.replace("\n", "\r\n").rstrip("\r\n") + "\n"
            return
        version = wire.parse_preface(read_exact(sock, 8))
        if expect == "version":
            assert version == int(vector.fields["version"])
            return
        while True:
            frame = read_frame(sock)
            if expect == "response" and frame.type == wire.FrameType.RESPONSE:
                response = wire_pb2.Response()
                response.ParseFromString(frame.payload)
                assert frame.call_id == int(vector.fields["call_id"])
                assert StatusCode(response.status.code).name == vector.fields["code"]
                assert response.status.message == vector.fields["message"]
                return
            if expect == "ping-ack" and frame.type == wire.FrameType.PING:
                assert frame.flags == wire.PING_ACK and frame.payload == vector.bytes("payload_hex")
                return
            if frame.type == wire.FrameType.GOAWAY:
                assert expect == "goaway", frame
                goaway = wire_pb2.GoAway()
                goaway.ParseFromString(frame.payload)
                assert StatusCode(goaway.code).name == vector.fields["code"]
                assert goaway.message == vector.fields["message"]
                assert goaway.last_call_id == int(vector.fields["last_call_id"])
                return

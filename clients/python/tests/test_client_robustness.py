"""The client against a scripted peer: deadlines, CANCEL, PING, GOAWAY, garbage and oversize frames."""
import queue
import struct

import pytest

import agentcube
from agentcube import wire
from agentcube.v1 import session_service_pb2, wire_pb2
from fake_server import FakeServer, handshake, read_frame


def serve(script):
    server = FakeServer(script)
    return server


def ok_response(call_id, message=b""):
    payload = wire_pb2.Response(status=wire_pb2.Status(), message=message).SerializeToString()
    return wire.Frame(wire.FrameType.RESPONSE, 0, call_id, payload).encode()


HEALTHY = session_service_pb2.HealthCheckResponse(status=1, version="fake").SerializeToString()


def test_a_deadline_sends_cancel_and_raises_deadline_exceeded():
    seen = queue.Queue()

    def script(sock):
        handshake(sock)
        request = read_frame(sock)
        envelope = wire_pb2.Request()
        envelope.ParseFromString(request.payload)
        seen.put(envelope.timeout_micros)
        seen.put(read_frame(sock))  # the CANCEL

    fake = serve(script)
    try:
        with agentcube.Client(fake.target, token="t") as client:
            with pytest.raises(agentcube.DeadlineExceeded):
                client.health(timeout=0.3)
        assert 0 < seen.get(timeout=10) <= 300_000
        cancel = seen.get(timeout=10)
        assert cancel.type == wire.FrameType.CANCEL and cancel.call_id == 1 and cancel.payload == b""
    finally:
        fake.close()


def test_pings_are_answered_and_responses_matched_out_of_order():
    acks = queue.Queue()

    def script(sock):
        handshake(sock)
        sock.sendall(wire.Frame(wire.FrameType.PING, 0, 0, b"12345678").encode())
        frames = [read_frame(sock) for _ in range(3)]
        acks.put([f for f in frames if f.type == wire.FrameType.PING])
        calls = sorted(f.call_id for f in frames if f.type == wire.FrameType.REQUEST)
        unknown = wire.Frame(77, 0, 0, b"later versions").encode()
        sock.sendall(unknown + ok_response(calls[1], HEALTHY) + ok_response(calls[0], HEALTHY))
        read_frame(sock)  # the client's GOAWAY when it closes

    fake = serve(script)
    try:
        async_results = []
        with agentcube.Client(fake.target, token="t") as client:
            import threading

            threads = [threading.Thread(target=lambda: async_results.append(client.health())) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
        assert [h.version for h in async_results] == ["fake", "fake"]
        (ack,) = acks.get(timeout=10)
        assert ack.flags == wire.PING_ACK and ack.payload == b"12345678"
    finally:
        fake.close()


def test_a_goaway_before_a_call_moves_it_to_a_new_connection():
    def script(sock):
        handshake(sock)
        request = read_frame(sock)
        if fake.connections == 1:
            goaway = wire_pb2.GoAway(last_call_id=0, code=14, message="draining").SerializeToString()
            sock.sendall(wire.Frame(wire.FrameType.GOAWAY, 0, 0, goaway).encode())
            return
        sock.sendall(ok_response(request.call_id, HEALTHY))
        read_frame(sock)

    fake = serve(script)
    try:
        with agentcube.Client(fake.target, token="t") as client:
            assert client.health().version == "fake"
        assert fake.connections == 2
    finally:
        fake.close()


@pytest.mark.parametrize("answer, match", [
    (b"SSH-2.0-OpenSSH_9.2\r\n", "preface"),
    (wire.encode_preface() + struct.pack(">I", 1 << 31), "exceeds the maximum frame size"),
    (wire.encode_preface() + struct.pack(">I", 2), "shorter than the 6-byte frame header"),
    (b"", "closed the connection"),
])
def test_a_broken_server_is_unavailable(answer, match):
    def script(sock):
        sock.recv(64)
        if not answer:
            return
        sock.sendall(answer)
        while sock.recv(4096):  # read until the client closes, so closing sends no reset
            pass

    fake = serve(script)
    try:
        with agentcube.Client(fake.target, token="t", timeout=5) as client:
            with pytest.raises(agentcube.Unavailable, match=match):
                client.health()
    finally:
        fake.close()


def test_a_silent_server_times_out_the_connect():
    def script(sock):
        sock.recv(64)
        sock.recv(64)

    fake = serve(script)
    try:
        with agentcube.Client(fake.target, token="t", timeout=0.5) as client:
            with pytest.raises(agentcube.Unavailable, match="no AgentCube preface"):
                client.health()
    finally:
        fake.close()


def test_status_details_reach_the_exception():
    def script(sock):
        handshake(sock)
        request = read_frame(sock)
        status = wire_pb2.Status(code=8, message="too many CreateSession calls; retry in 150 ms",
                                 details=[wire_pb2.ErrorDetail(type="retry-after-ms", value="150")])
        payload = wire_pb2.Response(status=status).SerializeToString()
        sock.sendall(wire.Frame(wire.FrameType.RESPONSE, 0, request.call_id, payload).encode())
        read_frame(sock)

    fake = serve(script)
    try:
        with agentcube.Client(fake.target, token="t") as client:
            with pytest.raises(agentcube.ResourceExhausted) as caught:
                client.create_session()
        assert caught.value.details == [("retry-after-ms", "150")] and caught.value.retry_after == 0.15
    finally:
        fake.close()

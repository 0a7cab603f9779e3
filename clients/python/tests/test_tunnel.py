"""Tunnels as sockets: paramiko runs a command and SFTP both ways; asyncio gets a stream pair."""
import asyncio
import base64
import os
import socket

import paramiko
import pytest

import agentcube
from agentcube import wire
from fake_server import FakeServer, handshake, read_frame


def pinned_host_key(session):
    kind, data = session.host_key
    return paramiko.PKey.from_type_string(kind, base64.b64decode(data))


@pytest.fixture
def session(client, ssh_key):
    with client.create_session(ssh_public_key=ssh_key[1], ttl=600) as session:
        yield session


def ssh(session, ssh_key):
    transport = paramiko.Transport(session.open_tunnel(port=22))
    transport.connect(hostkey=pinned_host_key(session), username=session.ssh_user,
                      pkey=paramiko.Ed25519Key.from_private_key_file(ssh_key[0]))
    return transport


def run(transport, command):
    channel = transport.open_session()
    channel.settimeout(30)
    channel.exec_command(command)
    output = channel.makefile("rb").read()
    return channel.recv_exit_status(), output


def test_paramiko_runs_a_command_and_sftp_moves_files_both_ways(session, ssh_key, tmp_path):
    transport = ssh(session, ssh_key)
    try:
        assert run(transport, "echo hello from $(id -un)") == (0, b"hello from root\n")
        sftp = paramiko.SFTPClient.from_transport(transport)
        payload = os.urandom(256 * 1024)
        (tmp_path / "up").write_bytes(payload)
        sftp.put(str(tmp_path / "up"), "/workspace/up")
        assert run(transport, "sha256sum < /workspace/up")[1].split()[0].decode() == __import__("hashlib").sha256(
            payload).hexdigest()
        assert run(transport, "cp /workspace/up /workspace/down && printf x >> /workspace/down")[0] == 0
        sftp.get("/workspace/down", str(tmp_path / "down"))
        assert (tmp_path / "down").read_bytes() == payload + b"x"
        sftp.close()
    finally:
        transport.close()


def test_a_wrong_host_key_is_refused(session, ssh_key):
    transport = paramiko.Transport(session.open_tunnel())
    try:
        with pytest.raises(paramiko.SSHException):
            transport.connect(hostkey=paramiko.Ed25519Key.generate() if hasattr(paramiko.Ed25519Key, "generate")
                              else paramiko.RSAKey.generate(1024),
                              username="root", pkey=paramiko.Ed25519Key.from_private_key_file(ssh_key[0]))
    finally:
        transport.close()


def test_tunnel_to_a_closed_port_is_unavailable(session):
    with pytest.raises(agentcube.Unavailable, match="cannot connect to port 7"):
        session.open_tunnel(port=7)


def test_tunnel_to_an_unknown_session_is_not_found(client):
    with pytest.raises(agentcube.NotFound):
        client.open_tunnel("00000000-0000-4000-8000-000000000000")


def test_bytes_right_after_the_answer_stay_in_the_socket():
    """A server that sends tunnel bytes in the same write as its answer: none may be lost."""
    from agentcube.v1 import session_service_pb2, wire_pb2

    def script(sock):
        handshake(sock)
        read_frame(sock)
        answer = wire_pb2.Response(status=wire_pb2.Status(), message=session_service_pb2.OpenTunnelResponse(
            target="x:22").SerializeToString()).SerializeToString()
        ping = wire.Frame(wire.FrameType.PING, 0, 0, b"pingpong").encode()
        sock.sendall(ping + wire.Frame(wire.FrameType.RESPONSE, 0, 1, answer).encode() + b"SSH-2.0-fake\r\n")
        assert sock.recv(100) == b"client bytes"

    fake = FakeServer(script)
    try:
        with agentcube.Client(fake.target, token="t") as client:
            with client.open_tunnel("00000000-0000-4000-8000-000000000000") as sock:
                sock.settimeout(10)
                assert sock.recv(100) == b"SSH-2.0-fake\r\n"
                sock.sendall(b"client bytes")
                sock.shutdown(socket.SHUT_WR)
                assert sock.recv(100) == b""
        assert not fake.errors
    finally:
        fake.close()


def test_async_tunnel_is_a_stream_pair(server, ssh_key):
    async def main():
        async with agentcube.AsyncClient(server.unix_target, token_file=server.alice_token_file) as client:
            async with client.create_session(ssh_public_key=ssh_key[1]) as session:
                reader, writer = await session.open_tunnel(port=22)
                banner = await asyncio.wait_for(reader.readline(), 30)
                writer.close()
                return banner

    assert asyncio.run(main()).startswith(b"SSH-2.0-OpenSSH")

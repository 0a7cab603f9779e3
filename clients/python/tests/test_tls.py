"""The client over TLS (``tls://HOST:PORT`` with ``ca_file=``) against a real agentcubed with TLS."""
import os
import shutil
import subprocess
import tempfile

import pytest

import agentcube
import server as server_module


def openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True, timeout=60)


def make_ca(directory: str, name: str) -> tuple:
    key, certificate = os.path.join(directory, f"{name}.key"), os.path.join(directory, f"{name}.pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", certificate, "-subj", f"/CN={name}", "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, certificate


def make_server_certificate(directory: str, ca: tuple) -> tuple:
    """A certificate for 127.0.0.1 and localhost signed by ``ca``."""
    key, request = os.path.join(directory, "server.key"), os.path.join(directory, "server.csr")
    certificate, extensions = os.path.join(directory, "server.pem"), os.path.join(directory, "server.ext")
    with open(extensions, "w") as file:
        file.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                   "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", request, "-subj", "/CN=agentcubed")
    openssl("x509", "-req", "-in", request, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial", "-days", "1",
            "-extfile", extensions, "-out", certificate)
    return key, certificate


@pytest.fixture(scope="module")
def tls_server():
    """``(server, its CA, another CA)``: agentcubed serving TCP with TLS."""
    directory = tempfile.mkdtemp(prefix="acpy-tls-")
    try:
        ca = make_ca(directory, "server-ca")
        other = make_ca(directory, "other-ca")
        key, certificate = make_server_certificate(directory, ca)
        running = server_module.start(["--tls-cert", certificate, "--tls-key", key])
        try:
            yield running, ca[1], other[1]
        finally:
            server_module.stop(running)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_calls_and_a_session_over_tls_with_the_servers_ca(tls_server):
    running, ca, _ = tls_server
    with agentcube.Client("tls://" + running.tcp_target, token_file=running.alice_token_file, ca_file=ca) as client:
        assert client.health().serving
        assert client.list_sessions().sessions == []
        with pytest.raises(agentcube.NotFound):
            client.get_session("00000000-0000-4000-8000-000000000000")


def test_a_server_certificate_from_another_ca_is_refused(tls_server):
    running, _, other = tls_server
    with agentcube.Client("tls://" + running.tcp_target, token_file=running.alice_token_file, ca_file=other) as client:
        with pytest.raises(agentcube.Unavailable, match="TLS handshake failed"):
            client.health()


def test_plain_tcp_to_a_tls_listener_fails_clearly(tls_server):
    running, _, _ = tls_server
    with agentcube.Client(running.tcp_target, token_file=running.alice_token_file, timeout=10) as client:
        with pytest.raises(agentcube.RPCError):
            client.health()

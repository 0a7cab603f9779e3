import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import server as server_module  # noqa: E402


@pytest.fixture(scope="session")
def server():
    """One real agentcubed for the whole suite."""
    running = server_module.start()
    try:
        yield running
    finally:
        server_module.stop(running)


@pytest.fixture(scope="session")
def ssh_key():
    """``(private key path, public key line)`` of an ed25519 key made for the suite."""
    directory = tempfile.mkdtemp(prefix="acpy-key-")
    path = os.path.join(directory, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "agentcube-tests", "-f", path], check=True,
                   timeout=30)
    try:
        with open(path + ".pub") as file:
            yield path, file.read().strip()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def client(server):
    import agentcube

    with agentcube.Client(server.unix_target, token_file=server.alice_token_file, timeout=30) as client:
        yield client

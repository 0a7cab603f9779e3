"""Runs the real agentcubed on a temporary state directory for the tests."""
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Optional

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def server_binary() -> str:
    """``$AGENTCUBED``, else ``$AGENTCUBE_BIN_DIR/agentcubed``, else ``$(swift build --show-bin-path)/agentcubed``."""
    if os.environ.get("AGENTCUBED"):
        return os.environ["AGENTCUBED"]
    bin_dir = os.environ.get("AGENTCUBE_BIN_DIR")
    if not bin_dir:
        bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, check=True, capture_output=True,
                                 text=True, timeout=300).stdout.strip()
    return os.path.join(bin_dir, "agentcubed")


@dataclass
class Server:
    """A running server: its targets, two callers' tokens (alice, bob) and its log."""

    directory: str
    process: subprocess.Popen
    unix_target: str
    tcp_target: str
    alice_token_file: str
    bob_token_file: str
    log_path: str

    def token(self, who: str = "alice") -> str:
        with open(self.alice_token_file if who == "alice" else self.bob_token_file) as file:
            return file.read().strip()

    def log(self) -> str:
        with open(self.log_path, errors="replace") as file:
            return file.read()


def start(extra_args=()) -> Server:
    """Starts agentcubed with a token file of two service accounts, waits until it listens."""
    directory = tempfile.mkdtemp(prefix="acpy-", dir="/tmp")
    os.chmod(directory, 0o755)
    state = os.path.join(directory, "state")
    tokens = {"alice": secrets.token_hex(16), "bob": secrets.token_hex(16)}
    token_auth = os.path.join(directory, "tokens.csv")
    with open(token_auth, "w") as file:
        for who, token in tokens.items():
            file.write(f'{token},system:serviceaccount:tests:{who},{who}-uid,"tests"\n')
    os.chmod(token_auth, 0o600)
    token_files = {}
    for who, token in tokens.items():
        token_files[who] = os.path.join(directory, f"{who}.token")
        with open(token_files[who], "w") as file:
            file.write(token + "\n")
    socket_path = os.path.join(directory, "s.sock")
    log_path = os.path.join(directory, "server.log")
    log = open(log_path, "wb")
    try:
        binary = server_binary()
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    process = subprocess.Popen(
        [binary, "--state-dir", state, "--unix-socket", socket_path, "--tcp", "127.0.0.1:0",
         "--token-auth-file", token_auth, *extra_args],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    port: Optional[int] = None
    while port is None:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(STOP_TIMEOUT)
            raise RuntimeError(f"agentcubed did not start (log: {log_path})")
        with open(log_path, errors="replace") as file:
            match = re.search(r"tcp_port=(\d+)", file.read())
        if match and os.path.exists(socket_path):
            port = int(match.group(1))
        else:
            time.sleep(0.05)  # polling the log for the listening line, bounded by the deadline above
    return Server(directory, process, f"unix:{socket_path}", f"127.0.0.1:{port}", token_files["alice"],
                  token_files["bob"], log_path)


def stop(server: Server) -> None:
    """Deletes every session left, stops the server (SIGTERM, then SIGKILL) and removes its files."""
    import agentcube

    for token_file in (server.alice_token_file, server.bob_token_file):
        try:
            with agentcube.Client(server.unix_target, token_file=token_file, timeout=30) as client:
                for session in list(client.iter_sessions()):
                    client.delete_session(session.id)
        except agentcube.RPCError:
            pass
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(STOP_TIMEOUT)
    shutil.rmtree(server.directory, ignore_errors=True)

"""A scripted peer on a Unix socket, for what a real server never does (silence, garbage, early GOAWAY)."""
import os
import socket
import tempfile
import threading
from typing import Callable, List

from agentcube import wire


class FakeServer:
    """Accepts connections and hands each to ``script(sock)`` on a thread of its own."""

    def __init__(self, script: Callable[[socket.socket], None]):
        self.directory = tempfile.mkdtemp(prefix="acfake-")
        self.path = os.path.join(self.directory, "s.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.script = script
        self.errors: List[BaseException] = []
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def target(self) -> str:
        return f"unix:{self.path}"

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(sock,), daemon=True).start()

    def _run(self, sock):
        sock.settimeout(10)
        try:
            self.script(sock)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.errors.append(error)
        finally:
            sock.close()

    def close(self):
        self.listener.close()
        os.unlink(self.path)
        os.rmdir(self.directory)


def read_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("peer closed")
        data += chunk
    return data


def read_frame(sock) -> wire.Frame:
    size, kind, flags, call_id = wire.parse_header(read_exact(sock, 10), wire.DEFAULT_MAX_FRAME_SIZE)
    return wire.Frame(kind, flags, call_id, read_exact(sock, size))


def handshake(sock):
    """Reads the client's preface and SETTINGS, answers a preface and SETTINGS."""
    assert wire.parse_preface(read_exact(sock, 8)) == 1
    assert read_frame(sock).type == wire.FrameType.SETTINGS
    sock.sendall(wire.encode_preface() + wire.Frame(wire.FrameType.SETTINGS, 0, 0, b"").encode())

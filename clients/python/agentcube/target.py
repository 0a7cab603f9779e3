"""Where the server is: ``unix:PATH``, ``HOST:PORT`` or ``tls://HOST:PORT`` (docs/protocol.md §1)."""
from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass
from typing import Optional

from .errors import InvalidArgument, Unavailable

DEFAULT_TARGET = "unix:/tmp/agentcube/agentcube.sock"


@dataclass(frozen=True)
class Target:
    """A parsed server address; ``host``/``port`` are unset for a Unix socket."""

    text: str
    unix_path: Optional[str] = None
    host: Optional[str] = None
    port: Optional[int] = None
    tls: bool = False

    @staticmethod
    def parse(text: Optional[str] = None) -> "Target":
        """Parses ``text``, else ``$AGENTCUBE_SERVER``, else the CLI's default Unix socket."""
        text = text or os.environ.get("AGENTCUBE_SERVER") or DEFAULT_TARGET
        if text.startswith("unix:"):
            path = text[len("unix:") :]
            if path.startswith("//"):
                path = path[2:]
            if not path:
                raise InvalidArgument(f"target {text!r} names no socket path")
            return Target(text, unix_path=path)
        tls = text.startswith("tls://")
        rest = text[len("tls://") :] if tls else text
        if rest.startswith("tcp://"):
            rest = rest[len("tcp://") :]
        host, sep, port = rest.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidArgument(f"target {text!r} is not unix:PATH, HOST:PORT or tls://HOST:PORT")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return Target(text, host=host, port=int(port), tls=tls)

    def connect(self, timeout: float, tls_context: Optional[ssl.SSLContext] = None) -> socket.socket:
        """A connected (and for ``tls://`` handshaken) blocking socket; ``Unavailable`` when it fails."""
        try:
            if self.unix_path is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.settimeout(timeout)
                    sock.connect(self.unix_path)
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection((self.host, self.port), timeout=timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self.tls:
                    assert tls_context is not None
                    try:
                        sock = tls_context.wrap_socket(sock, server_hostname=self.host)
                    except BaseException:
                        sock.close()
                        raise
            return sock
        except ssl.SSLCertVerificationError as error:
            raise Unavailable(f"cannot connect to {self.text}: TLS handshake failed: {error.verify_message}") from None
        except ssl.SSLError as error:
            raise Unavailable(f"cannot connect to {self.text}: TLS handshake failed: {error.reason or error}") from None
        except socket.timeout:
            raise Unavailable(f"cannot connect to {self.text}: timed out") from None
        except OSError as error:
            raise Unavailable(f"cannot connect to {self.text}: {error.strerror or error}") from None


def tls_context(
    ca_file: Optional[str] = None, client_cert: Optional[str] = None, client_key: Optional[str] = None
) -> ssl.SSLContext:
    """A client TLS context (1.2 or later) verifying against ``ca_file`` (or
    ``$AGENTCUBE_CA_FILE``, else the system's roots), with an optional client certificate."""
    ca_file = ca_file or os.environ.get("AGENTCUBE_CA_FILE") or None
    client_cert = client_cert or os.environ.get("AGENTCUBE_CLIENT_CERT") or None
    client_key = client_key or os.environ.get("AGENTCUBE_CLIENT_KEY") or None
    try:
        context = ssl.create_default_context(cafile=ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if client_cert:
            context.load_cert_chain(client_cert, client_key)
    except (OSError, ssl.SSLError) as error:
        raise InvalidArgument(f"cannot load the TLS files: {error}") from None
    return context

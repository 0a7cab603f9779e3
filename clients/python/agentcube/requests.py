"""The request messages of each method, built from keyword arguments."""
from __future__ import annotations

from typing import Mapping, Optional

from .v1 import session_service_pb2 as pb


def create_session(image: str = "", ttl: int = 0, idle_timeout: int = 0, ssh_public_key: str = "",
                   ssh_user: Optional[str] = None, metadata: Optional[Mapping[str, str]] = None) -> pb.CreateSessionRequest:
    """A ``CreateSessionRequest``; empty or ``None`` values take the server's defaults."""
    request = pb.CreateSessionRequest(image=image or "", ttl_seconds=ttl or 0, idle_timeout_seconds=idle_timeout or 0,
                                      ssh_public_key=ssh_public_key or "", ssh_user=ssh_user or "")
    for key, value in (metadata or {}).items():
        request.metadata.add(key=key, value=value)
    return request

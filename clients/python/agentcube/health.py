"""What Health/Check answers."""
from __future__ import annotations

from dataclasses import dataclass

from .v1 import session_service_pb2 as pb


@dataclass(frozen=True)
class Health:
    """The server's health: whether it serves, its version and backend, how sandboxes are isolated."""

    serving: bool
    status: str
    version: str
    backend: str
    isolated: bool
    isolation_message: str

    @staticmethod
    def from_proto(message: pb.HealthCheckResponse) -> "Health":
        return Health(
            serving=message.status == pb.HealthCheckResponse.SERVING,
            status=pb.HealthCheckResponse.ServingStatus.Name(message.status),
            version=message.version,
            backend=message.backend,
            isolated=message.isolated,
            isolation_message=message.isolation_message,
        )

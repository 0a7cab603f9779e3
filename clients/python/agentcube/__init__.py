"""AgentCube client: isolated sandbox sessions for agents (docs/protocol.md)."""
from .aio import AsyncClient, AsyncSessionPage
from .client import Client, SessionPage
from .errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    RPCError,
    StatusCode,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)
from .health import Health
from .session import AsyncSession, Session, SessionInfo, SessionStatus

__version__ = "0.1.0"

__all__ = [
    "AsyncClient", "AsyncSession", "AsyncSessionPage", "Client", "Health", "Session", "SessionInfo", "SessionPage",
    "SessionStatus", "StatusCode", "RPCError", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded",
    "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
    "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
]

"""Status codes and the exceptions that carry them (docs/protocol.md §6)."""
from __future__ import annotations

import enum
from typing import Dict, List, Optional, Tuple, Type


class StatusCode(enum.IntEnum):
    """A call's status code, as gRPC's."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class RPCError(Exception):
    """A failed call: its status code, the server's message and the status details.

    Catch a subclass (``agentcube.NotFound``, ``agentcube.Unauthenticated``, …) for one code, or
    this class for all. ``details`` holds the ``(type, value)`` pairs of ``Status.details``.
    """

    code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, message: str, details: Optional[List[Tuple[str, str]]] = None):
        super().__init__(message)
        self.message = message
        self.details = list(details or [])

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds after which a retry may succeed (the ``retry-after-ms`` detail), if given."""
        for kind, value in self.details:
            if kind == "retry-after-ms" and value.isdigit():
                return int(value) / 1000.0
        return None

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    @staticmethod
    def from_status(code: int, message: str, details: Optional[List[Tuple[str, str]]] = None) -> "RPCError":
        """The exception of the subclass for ``code`` (``Unknown`` for codes outside 1..16)."""
        cls = _BY_CODE.get(code)
        if cls is None:
            return Unknown(f"status code {code}: {message}", details)
        return cls(message, details)


class Cancelled(RPCError):
    """Status CANCELLED."""

    code = StatusCode.CANCELLED


class Unknown(RPCError):
    """Status UNKNOWN."""

    code = StatusCode.UNKNOWN


class InvalidArgument(RPCError):
    """Status INVALID_ARGUMENT."""

    code = StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(RPCError):
    """Status DEADLINE_EXCEEDED."""

    code = StatusCode.DEADLINE_EXCEEDED


class NotFound(RPCError):
    """Status NOT_FOUND."""

    code = StatusCode.NOT_FOUND


class AlreadyExists(RPCError):
    """Status ALREADY_EXISTS."""

    code = StatusCode.ALREADY_EXISTS


class PermissionDenied(RPCError):
    """Status PERMISSION_DENIED."""

    code = StatusCode.PERMISSION_DENIED


class ResourceExhausted(RPCError):
    """Status RESOURCE_EXHAUSTED."""

    code = StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(RPCError):
    """Status FAILED_PRECONDITION."""

    code = StatusCode.FAILED_PRECONDITION


class Aborted(RPCError):
    """Status ABORTED."""

    code = StatusCode.ABORTED


class OutOfRange(RPCError):
    """Status OUT_OF_RANGE."""

    code = StatusCode.OUT_OF_RANGE


class Unimplemented(RPCError):
    """Status UNIMPLEMENTED."""

    code = StatusCode.UNIMPLEMENTED


class Internal(RPCError):
    """Status INTERNAL."""

    code = StatusCode.INTERNAL


class Unavailable(RPCError):
    """Status UNAVAILABLE."""

    code = StatusCode.UNAVAILABLE


class DataLoss(RPCError):
    """Status DATA_LOSS."""

    code = StatusCode.DATA_LOSS


class Unauthenticated(RPCError):
    """Status UNAUTHENTICATED."""

    code = StatusCode.UNAUTHENTICATED


ERROR_CLASSES: Tuple[Type[RPCError], ...] = (
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
)
_BY_CODE: Dict[int, Type[RPCError]] = {cls.code.value: cls for cls in ERROR_CLASSES}

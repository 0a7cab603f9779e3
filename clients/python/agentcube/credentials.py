"""Where the bearer token comes from: a string, a file (re-read when it changes) or the environment."""
from __future__ import annotations

import os
import threading
from typing import Optional, Tuple

from .errors import InvalidArgument


class TokenSource:
    """The token for each call: ``token``, else ``token_file``, else ``$AGENTCUBE_TOKEN``, else
    ``$AGENTCUBE_TOKEN_FILE`` (the CLI's order). A file is read again whenever its inode, size or
    modification time changes, so a rotated token is picked up without a new client. The token
    never appears in a message or ``repr``."""

    def __init__(self, token: Optional[str] = None, token_file: Optional[str] = None):
        if token is None and token_file is None:
            token = os.environ.get("AGENTCUBE_TOKEN") or None
            if token is None:
                token_file = os.environ.get("AGENTCUBE_TOKEN_FILE") or None
        self._token = token.strip() if token is not None else None
        self._file = token_file
        self._stamp: Optional[Tuple[int, int, int]] = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = "a string" if self._token is not None and self._file is None else self._file or "none"
        return f"TokenSource({where})"

    def get(self) -> Optional[str]:
        """The current token, or ``None`` when there is none."""
        if self._file is None:
            return self._token
        with self._lock:
            try:
                info = os.stat(self._file)
                stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
                if stamp != self._stamp:
                    with open(self._file, encoding="utf-8") as file:
                        self._token = file.read().strip() or None
                    self._stamp = stamp
            except (OSError, UnicodeDecodeError) as error:
                raise InvalidArgument(f"cannot read the token file {self._file}: {error}") from None
            return self._token

"""Errors with an HTTP status: every error response is JSON ``{"error": message}``, never a stack trace."""

from __future__ import annotations

from openbook.errors import OpenbookError


class ApiError(OpenbookError):
    """A user-facing error that carries its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def status_of(exc: OpenbookError) -> int:
    """The HTTP status for a library error: 409 when another process holds the index's write lock, else 400."""
    if isinstance(exc, ApiError):
        return exc.status
    if "being written by another process" in str(exc):
        return 409
    return 400

"""Errors the core raises for bad input: each carries a code and one sentence for people."""

from __future__ import annotations


class InsightsError(ValueError):
    """A problem with the user's data or request, explained in one line.

    Parameters
    ----------
    code
        Stable machine-readable code, e.g. ``"empty_file"``.
    message
        One human sentence; the UI shows it with ``st.error`` and the CLI on stderr.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

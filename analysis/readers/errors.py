"""The one exception every reader raises for a file it cannot read."""

from __future__ import annotations


class ReadError(ValueError):
    """A file could not be read as a dataset.

    The message always names the file, where the problem is (a line number for text, a byte
    offset for binary files, a cell for spreadsheets) and what was expected there, so a user can
    fix the file or pick another one without opening a debugger.
    """

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        line: int | None = None,
        offset: int | None = None,
        cell: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.file = file
        self.problem = problem
        self.line = line
        self.offset = offset
        self.cell = cell
        self.expected = expected
        where = ""
        if line is not None:
            where = f", line {line}"
        elif offset is not None:
            where = f", byte offset {offset}"
        elif cell is not None:
            where = f", cell {cell}"
        message = f"{file}{where}: {problem}"
        if expected:
            message += f" (expected {expected})"
        super().__init__(message)

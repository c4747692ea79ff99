"""The scheduling error tree.

::

    factoryos.model.ScheduleError
    └── SchedulingError
        ├── InstanceFormatError   a benchmark/instance file does not parse (carries path and line)
        │   └── OrderFileError    an orders CSV has problems (every one, each with its line)
        ├── NoSolutionError       the solver stopped without a feasible schedule (carries status)
        └── InvalidScheduleError  a schedule breaks a constraint (carries the violations)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from factoryos.model.errors import ScheduleError

if TYPE_CHECKING:
    from factoryos.schedule.validate import Violation

__all__ = [
    "InstanceFormatError",
    "InvalidScheduleError",
    "NoSolutionError",
    "OrderFileError",
    "SchedulingError",
]


class SchedulingError(ScheduleError):
    """Base class of every error raised by ``factoryos.schedule``."""


class InstanceFormatError(SchedulingError):
    """An instance file does not follow its format."""

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f":{line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class OrderFileError(InstanceFormatError):
    """An orders CSV has problems: ``problems`` holds every (line, message), all found at once."""

    def __init__(self, path: Path | str, problems: Sequence[tuple[int, str]]):
        self.problems = tuple(problems)
        text = "\n".join(f"{path}:{line}: {message}" for line, message in self.problems)
        SchedulingError.__init__(self, f"{len(self.problems)} problem(s) in the orders:\n{text}")
        self.path = path
        self.line = self.problems[0][0]


class NoSolutionError(SchedulingError):
    """The solver returned neither OPTIMAL nor FEASIBLE."""

    def __init__(self, status: str, *, problem: str = "", wall_time_s: float = 0.0):
        super().__init__(
            f"no schedule for {problem!r}: solver status {status} after {wall_time_s:.2f} s"
        )
        self.status = status
        self.problem = problem
        self.wall_time_s = wall_time_s


class InvalidScheduleError(SchedulingError):
    """A schedule violates at least one constraint of its problem."""

    def __init__(self, violations: Sequence[Violation]):
        head = "; ".join(str(v) for v in violations[:5])
        more = f" (+{len(violations) - 5} more)" if len(violations) > 5 else ""
        super().__init__(f"{len(violations)} violation(s): {head}{more}")
        self.violations = tuple(violations)

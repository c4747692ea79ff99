"""Readers for the standard instance formats: JSSP (OR-Library / Taillard) and FJSP (.fjs)."""

from __future__ import annotations

from pathlib import Path

from factoryos.schedule.errors import InstanceFormatError
from factoryos.schedule.problem import Alternative, Job, Operation, Problem

__all__ = ["load_instance", "parse_fjsp", "parse_jssp"]


def _numbers(text: str, path: Path | str) -> list[tuple[int, list[int]]]:
    """Non-empty, non-comment lines as (line number, integers)."""
    rows: list[tuple[int, list[int]]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            rows.append((lineno, [int(float(tok)) for tok in line.split()]))
        except ValueError as exc:
            raise InstanceFormatError(
                f"not a number in {raw.strip()!r}", path=path, line=lineno
            ) from exc
    return rows


def _sizes(rows: list[tuple[int, list[int]]], path: Path | str, header: str) -> tuple[int, int]:
    """Jobs and machines from the first line; as many job lines must follow."""
    if not rows or len(rows[0][1]) < 2:
        raise InstanceFormatError(f"first line must be {header}", path=path, line=1)
    n, m = rows[0][1][:2]
    if len(rows) - 1 < n:
        raise InstanceFormatError(f"expected {n} job lines, found {len(rows) - 1}", path=path)
    return n, m


def parse_jssp(text: str, *, name: str = "", path: Path | str = "<string>") -> Problem:
    """OR-Library "standard" JSSP: ``n m``, then per job ``m`` pairs ``machine duration``."""
    rows = _numbers(text, path)
    n, m = _sizes(rows, path, "'n m'")
    jobs = []
    for j in range(n):
        lineno, vals = rows[1 + j]
        if len(vals) % 2 or not vals:
            raise InstanceFormatError(
                f"job {j}: odd number of values {len(vals)}", path=path, line=lineno
            )
        ops = []
        for k in range(0, len(vals), 2):
            mach, dur = vals[k], vals[k + 1]
            if not 0 <= mach < m:
                raise InstanceFormatError(
                    f"job {j}: machine {mach} not in 0..{m - 1}", path=path, line=lineno
                )
            ops.append(Operation((Alternative(mach, dur),), name=f"J{j}O{k // 2}"))
        jobs.append(Job(tuple(ops), name=f"J{j}"))
    return Problem(tuple(jobs), m, name=name)


def parse_fjsp(text: str, *, name: str = "", path: Path | str = "<string>") -> Problem:
    """Brandimarte ``.fjs``: ``n m [avg]``, then per job ``#ops`` and per op ``k (machine time)*k``.

    Machines are 1-based in the file and 0-based in the problem.
    """
    rows = _numbers(text, path)
    n, m = _sizes(rows, path, "'n m [avg]'")
    jobs = []
    for j in range(n):
        lineno, vals = rows[1 + j]
        try:
            pos = 0
            num_ops = vals[pos]
            pos += 1
            ops = []
            for o in range(num_ops):
                k = vals[pos]
                pos += 1
                alts = []
                for _ in range(k):
                    mach, dur = vals[pos], vals[pos + 1]
                    pos += 2
                    if not 1 <= mach <= m:
                        raise InstanceFormatError(
                            f"job {j} op {o}: machine {mach} not in 1..{m}", path=path, line=lineno
                        )
                    alts.append(Alternative(mach - 1, dur))
                ops.append(Operation(tuple(alts), name=f"J{j}O{o}"))
        except IndexError as exc:
            raise InstanceFormatError(f"job {j}: line ends early", path=path, line=lineno) from exc
        except ValueError as exc:
            raise InstanceFormatError(f"job {j}: {exc}", path=path, line=lineno) from exc
        if pos != len(vals):
            raise InstanceFormatError(
                f"job {j}: {len(vals) - pos} trailing values", path=path, line=lineno
            )
        jobs.append(Job(tuple(ops), name=f"J{j}"))
    return Problem(tuple(jobs), m, name=name)


def load_instance(path: Path | str) -> Problem:
    """Read ``path``: ``.fjs`` as FJSP, anything else as OR-Library JSSP."""
    p = Path(path)
    text = p.read_text()
    name = p.stem.lower()
    if p.suffix.lower() == ".fjs":
        return parse_fjsp(text, name=name, path=p)
    return parse_jssp(text, name=name, path=p)

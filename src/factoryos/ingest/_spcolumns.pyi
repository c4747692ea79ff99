# The compiled Sparkplug DATA decoder (_spcolumns.c); spdata.py is its reference.
from typing import Any

Slot = tuple[int, int, int, int, str, bytes, str, str | None]

class Table:
    def __init__(
        self, by_alias: list[tuple[int, Slot]], by_name: list[tuple[str, Slot]]
    ) -> None: ...
    def take(
        self, data: bytes, seq: int, latest: int | None, columns: tuple[list[Any], ...]
    ) -> tuple[int, int, int | None] | None: ...

def blake2b(data: bytes, size: int) -> bytes: ...

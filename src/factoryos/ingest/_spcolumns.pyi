# The compiled Sparkplug DATA decoder (_spcolumns.c); spdata.py is its reference.
Slot = tuple[int, int, int, int, str, bytes, str, str | None]

class Table:
    def __init__(
        self, by_alias: list[tuple[int, Slot]], by_name: list[tuple[str, Slot]]
    ) -> None: ...
    def take(
        self, data: bytes, seq: int, latest: int | None, samples: Samples
    ) -> tuple[int, int, int | None] | None: ...

class Samples:
    def __len__(self) -> int: ...
    def columns(
        self,
    ) -> tuple[bytes, bytes, bytes, bytes, list[str], list[str], list[str | None]]: ...

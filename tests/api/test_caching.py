"""The response cache: one computation per tag even under concurrent callers, LRU eviction."""

from __future__ import annotations

import threading
import time

from factoryos.api.caching import ResponseCache


def test_concurrent_callers_share_one_computation() -> None:
    cache = ResponseCache()
    calls = []

    def compute() -> bytes:
        calls.append(1)
        time.sleep(0.2)
        return b"{}"

    got: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: got.append(cache.get("t", compute))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [b"{}"] * 8
    assert len(calls) == 1


def test_least_recently_used_goes_first() -> None:
    cache = ResponseCache(size=2)
    computed: list[str] = []

    def body(tag: str) -> bytes:
        return cache.get(tag, lambda: (computed.append(tag), tag.encode())[1])

    body("a"), body("b"), body("a"), body("c")  # "b" is the least recently used
    body("a"), body("b")
    assert computed == ["a", "b", "c", "b"]

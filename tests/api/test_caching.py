"""The response cache: one computation per request even under concurrent callers, LRU eviction,
answers dropped exactly by the changes that can alter them."""

from __future__ import annotations

import datetime as dt
import threading
import time

from factoryos.api.caching import ResponseCache
from factoryos.app.changes import ChangeLog

MARCH = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)  # the end of a window over March


def test_concurrent_callers_share_one_computation() -> None:
    cache = ResponseCache(ChangeLog())
    calls = []

    def compute() -> bytes:
        calls.append(1)
        time.sleep(0.2)
        return b"{}"

    got: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: got.append(cache.get("t", None, compute).body))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [b"{}"] * 8
    assert len(calls) == 1


def test_least_recently_used_goes_first() -> None:
    cache = ResponseCache(ChangeLog(), size=2)
    computed: list[str] = []

    def body(key: str) -> bytes:
        return cache.get(key, None, lambda: (computed.append(key), key.encode())[1]).body

    body("a"), body("b"), body("a"), body("c")  # "b" is the least recently used
    body("a"), body("b")
    assert computed == ["a", "b", "c", "b"]


def test_a_change_drops_only_the_windows_it_can_alter() -> None:
    changes = ChangeLog()
    cache = ResponseCache(changes)
    cache.get("march", MARCH, lambda: b"m")
    cache.get("everything", None, lambda: b"e")
    changes.record(MARCH + dt.timedelta(hours=3))  # today's events: March stays
    assert cache.peek("march") is not None
    assert cache.peek("everything") is None
    changes.record(MARCH - dt.timedelta(seconds=1))  # a late event of March 31
    assert cache.peek("march") is None
    cache.get("march", MARCH, lambda: b"m")
    changes.record(None)  # unknown instant: everything goes
    assert cache.peek("march") is None


def test_an_answer_overtaken_by_a_change_is_served_but_not_kept() -> None:
    changes = ChangeLog()
    cache = ResponseCache(changes)

    def compute() -> bytes:
        changes.record(MARCH - dt.timedelta(days=1))  # arrives while computing
        return b"old"

    first = cache.get("march", MARCH, compute)
    assert first.body == b"old"
    assert cache.peek("march") is None
    second = cache.get("march", MARCH, lambda: b"new")
    assert second.body == b"new" and second.tag != first.tag
    assert cache.peek("march") == second


def test_forgotten_changes_count_as_touching() -> None:
    changes = ChangeLog(keep=2)
    seq = changes.seq
    for _ in range(3):
        changes.record(MARCH + dt.timedelta(days=1))
    assert changes.touched_since(seq, MARCH)  # the first of them is no longer remembered
    assert not changes.touched_since(changes.seq - 2, MARCH)

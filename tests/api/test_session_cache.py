"""The accounts' session cache: one caller asks the store when an answer goes stale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from factoryos.app.accounts import SESSION_CACHE_S, Accounts, Principal, open_accounts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Accounts, Clock, str, list[Any]]:
    base = open_accounts(str(tmp_path / "u.duckdb"))
    base.add("ada", "longenough")
    base.grant("ada", "viewer", "jiading")
    clock = Clock()
    accounts = Accounts(base.users, clock=clock)
    token = accounts.login("ada", "longenough")
    asked: list[Any] = []
    lookup = base.users.session_user

    def counting(digest: str, now: dt.datetime) -> str | None:
        asked.append(digest)
        return lookup(digest, now)

    monkeypatch.setattr(base.users, "session_user", counting)
    return accounts, clock, token, asked


def _request(accounts: Accounts, token: str) -> Principal | None:
    """What the HTTP dependency does: the cache, else the store."""
    return accounts.cached_session(token) or accounts.session(token)


def test_a_stale_answer_sends_one_caller_to_the_store(setup: Any) -> None:
    accounts, clock, token, asked = setup
    assert _request(accounts, token) is not None and len(asked) == 1
    assert _request(accounts, token) is not None and len(asked) == 1  # fresh: from the cache
    clock.now += SESSION_CACHE_S + 0.1
    first = accounts.cached_session(token)
    assert first is None  # this caller asks the store ...
    others = [accounts.cached_session(token) for _ in range(19)]
    assert all(p is not None and p.name == "ada" for p in others)  # ... the others do not wait
    assert len(asked) == 1
    assert accounts.session(token) is not None and len(asked) == 2
    assert accounts.cached_session(token) is not None  # fresh again


def test_a_long_unused_answer_is_not_served(setup: Any) -> None:
    accounts, clock, token, _asked = setup
    assert _request(accounts, token) is not None
    clock.now += 2 * SESSION_CACHE_S + 0.1
    assert accounts.cached_session(token) is None
    assert accounts.cached_session(token) is None  # every caller asks, as for a new session


def test_an_ended_session_leaves_no_stale_answer(setup: Any) -> None:
    accounts, clock, token, _asked = setup
    assert _request(accounts, token) is not None
    accounts.users.drop_session(accounts_digest(token))  # ended in the store, not by logout
    clock.now += SESSION_CACHE_S + 0.1
    assert accounts.cached_session(token) is None
    assert accounts.session(token) is None
    assert accounts.cached_session(token) is None  # the stale principal is gone


def test_a_failed_lookup_lets_the_next_caller_ask(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts, clock, token, _asked = setup
    assert _request(accounts, token) is not None
    clock.now += SESSION_CACHE_S + 0.1
    assert accounts.cached_session(token) is None

    def broken(digest: str, now: dt.datetime) -> str | None:
        raise OSError("store gone")

    monkeypatch.setattr(accounts.users, "session_user", broken)
    with pytest.raises(OSError):
        accounts.session(token)
    assert accounts.cached_session(token) is None  # not left waiting for a lookup that died


def accounts_digest(token: str) -> str:
    from factoryos.app.accounts import _digest

    return _digest(token)

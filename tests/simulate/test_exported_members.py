"""The public surface of ``factoryos.simulate`` is what ``__all__`` says, and it all resolves."""

from __future__ import annotations

import factoryos.simulate as simulate


def test_all_names_resolve_and_are_sorted() -> None:
    assert simulate.__all__ == sorted(simulate.__all__)
    for name in simulate.__all__:
        assert getattr(simulate, name) is not None


def test_no_public_name_is_left_out() -> None:
    public = {n for n in vars(simulate) if not n.startswith("_")}
    modules = {"core", "demand", "errors", "line", "replicate", "results", "rt", "stats"}
    modules |= {"plan_follow", "streams", "twin", "units", "warmup"}
    assert public - modules == set(simulate.__all__)

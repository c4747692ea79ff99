from __future__ import annotations

import factoryos.schedule as schedule


def test_all_names_exist_and_are_sorted() -> None:
    for name in schedule.__all__:
        assert hasattr(schedule, name), name
    assert sorted(schedule.__all__, key=lambda n: (not n.isupper(), n)) == schedule.__all__


def test_public_names_are_in_all() -> None:
    public = {
        n
        for n, v in vars(schedule).items()
        if not n.startswith("_") and getattr(v, "__module__", "").startswith("factoryos.schedule")
    }
    assert public <= set(schedule.__all__)

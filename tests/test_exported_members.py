"""Each package's ``__all__`` is its curated public surface: names exist, and none is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

PACKAGES = ["model", "store", "kpi", "simulate", "schedule", "assess"]


def _package(name: str) -> ModuleType:
    return importlib.import_module(f"factoryos.{name}")


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist(name: str) -> None:
    package = _package(name)
    missing = [n for n in package.__all__ if not hasattr(package, n)]
    assert missing == []
    assert len(set(package.__all__)) == len(package.__all__)


@pytest.mark.parametrize("name", PACKAGES)
def test_imported_public_names_are_in_all(name: str) -> None:
    package = _package(name)
    imported = {
        n
        for n, v in vars(package).items()
        if not n.startswith("_")
        and not isinstance(v, ModuleType)
        and getattr(v, "__module__", "").startswith(f"factoryos.{name}")
    }
    assert imported <= set(package.__all__)

"""Results are frozen dataclasses (the project's rule): a caller cannot change a fitted number."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

import netoutcomes.survival as survival

MODULES = [m.name for m in pkgutil.iter_modules(survival.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_every_dataclass_is_frozen(name: str) -> None:
    module = importlib.import_module(f"netoutcomes.survival.{name}")
    classes = [
        c
        for c in vars(module).values()
        if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == module.__name__
    ]
    for c in classes:
        assert c.__dataclass_params__.frozen, f"{name}.{c.__name__} is not frozen"  # type: ignore[attr-defined]

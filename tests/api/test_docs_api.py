"""docs/api.md's examples run: every fenced python block is a doctest (the ``>>>`` lines
run in order, in one namespace, from the repository root, and print what is shown)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
DOC = ROOT / "docs" / "api.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_docs_have_examples() -> None:
    blocks = _blocks()
    assert len(blocks) >= 4
    assert all(">>> " in b for b in blocks)


def test_every_example_prints_what_the_docs_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    import pandas as pd

    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    namespace: dict[str, object] = {}
    with pd.option_context("display.width", 80, "display.max_columns", 20):
        for i, block in enumerate(_blocks()):
            test = parser.get_doctest(block, namespace, f"docs/api.md block {i + 1}", str(DOC), 0)
            runner.run(test, clear_globs=False)
            namespace.update(test.globs)  # DocTest copies its globals: carry them on
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples differ"

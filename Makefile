# Every target creates .venv and installs what it needs: nothing else is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck unit bench clean mutation fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/netoutcomes demo --out demo-output

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Mutation score of survival/ (docs/mutation.md): one mutant at a time on a copy of src/,
# niced (the machine is shared); report in build/mutation/report.json
mutation: $(STAMP)
	nice -n 10 $(BIN)/python tools/mutation/mutate.py --out build/mutation/report.json

# The registry's import fuzzing at length (CI runs 60 cases per format in make test).
fuzz: $(STAMP)
	NETOUTCOMES_FUZZ_CASES=3000 $(BIN)/python -m pytest tests/registry/test_fuzz.py -q

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache

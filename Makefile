# Two commands a newcomer needs: `make demo` (the main job) and `make test` (the whole suite).
# Both create or reuse the virtualenv in .venv and install the project into it.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-live lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/run_demo.py

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_ARGS)

# The real API, on a cheap model (about $0.05, at most $0.50): opt in with CLAUDE_MAGIC_LIVE=1 and a key.
test-live: $(STAMP)
	$(PY) -m pytest -m live tests/live -rs $(PYTEST_ARGS)

# The suite beside the hand-written SDK script (about 5 minutes): build/bench/results.{json,md} and README's table.
bench: $(STAMP)
	$(PY) -m benchmarks --out build/bench --readme README.md $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache

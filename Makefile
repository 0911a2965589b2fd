# The two commands a new user types are `make demo` and `make test`; both build the
# virtualenv first, so a fresh machine needs only python3 and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,scale]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sqlgate demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

# The whole benchmark suite at the issues' sizes (TPC-H SF1, 32 streams), one scenario after
# the other under the machine-wide lock shared with other benchmark runs; docs/benchmarks.md
# records its figures. Smaller: make bench BENCH_ARGS="--sf 0.1 --streams 8 --duration 30".
BENCH_ARGS ?= --sf 1 --streams 32 --duration 120 --repeats 3 --prefetch-files 1000
bench: $(STAMP)
	flock /tmp/sqlgate-bench.lock $(BIN)/sqlgate bench all --start-local $(BENCH_ARGS) --out bench-results

clean:
	rm -rf $(VENV) .demo-lake .pytest_cache .mypy_cache .ruff_cache

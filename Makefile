# The two commands a new user types are `make demo` and `make test`; both build the
# virtualenv first, so a fresh machine needs only python3 and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-cluster lint bench clean

# dbt in a virtualenv of its own (the pyproject `dbt` extra alone, not sqlgate): it pins
# versions of libraries the dev tools need newer; tests/e2e/test_dbt.py runs it from here.
DBT_VENV := .venv-dbt
DBT_STAMP := $(DBT_VENV)/.installed

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,scale]'
	touch $(STAMP)

# make demo TLS=1 serves HTTPS with a self-signed certificate (.demo-tls/cert.pem is its CA).
demo: $(STAMP)
	$(BIN)/sqlgate demo $(if $(TLS),--tls)

$(DBT_STAMP): pyproject.toml
	$(PY) -m venv $(DBT_VENV)
	$(PY) -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['dbt']))" > $(DBT_VENV)/requirements.txt
	$(DBT_VENV)/bin/pip install --quiet -r $(DBT_VENV)/requirements.txt
	touch $(DBT_STAMP)

test: $(STAMP) $(DBT_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

# The Ray and Sail tests alone (also part of `make test`): a 3-node Ray cluster and a Sail
# local cluster, each inside a network namespace (needs root); ~3-4 min on 2 cores.
test-cluster: $(STAMP)
	$(BIN)/pytest -m cluster

# The whole benchmark suite at the issues' sizes (TPC-H SF1, 32 streams), one scenario after
# the other under the machine-wide lock shared with other benchmark runs; docs/benchmarks.md
# records its figures. Smaller: make bench BENCH_ARGS="--sf 0.1 --streams 8 --duration 30".
BENCH_ARGS ?= --sf 1 --streams 32 --duration 120 --repeats 3 --prefetch-files 1000
bench: $(STAMP)
	flock /tmp/sqlgate-bench.lock $(BIN)/sqlgate bench all --start-local $(BENCH_ARGS) --out bench-results

clean:
	rm -rf $(VENV) $(DBT_VENV) .demo-lake .demo-tls .pytest_cache .mypy_cache .ruff_cache

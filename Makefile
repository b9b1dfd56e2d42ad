# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit agents integration deploy-tests schemas bench eval clean venv system-deps examples

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Debian packages the test suite drives for real (Prometheus server and promtool).
system-deps:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null) \
	    || echo "warning: could not install Debian's prometheus package; the scrape and rule tests will fail"; }

demo: venv
	$(BIN)/dipwire demo

lint: venv
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/python -m pytest tests/unit -m unit

agents: venv
	$(BIN)/python -m pytest tests/agents -m agents

integration: venv system-deps
	$(BIN)/python -m pytest tests/integration -m integration

# The deployment artefacts checked by their parsers and linters (promtool, hadolint,
# kubernetes-validate, compose-spec); `make test` runs them too.
deploy-tests: venv system-deps
	$(BIN)/python -m pytest tests/deploy -m deploy

# Every tier: unit, agents, integration and deploy. pytest exits 5 when it
# collects nothing; that must fail here, and it does, because only exit 0
# passes a make recipe.
test: venv system-deps lint typecheck
	$(BIN)/python -m pytest tests

schemas: venv
	$(BIN)/dipwire schemas

# The Node example consumer's dependencies, from its lock file, into examples/node/node_modules
# (the integration test does the same when they are missing).
examples:
	cd examples/node && npm ci --no-audit --no-fund

bench: venv
	$(BIN)/dipwire bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache examples/node/node_modules

# Deployment artefacts checked by the real tools, beside the unit tests that
# run in `make test`: promtool, Debian's docker-compose (a second compose
# implementation), hadolint and kubernetes-validate (offline schemas).
.PHONY: deploy-check
deploy-check: venv system-deps
	@command -v docker-compose >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null)
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/tests/*.yml
	docker-compose -f docker-compose.yml config -q
	$(BIN)/hadolint deploy/Dockerfile
	$(BIN)/kubernetes-validate --strict --quiet deploy/k8s/*.yaml
	$(BIN)/python -m pytest tests/deploy -m deploy -q

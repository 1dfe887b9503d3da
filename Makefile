# Sơn La Satisfaction Index – everyday commands. `make help` lists them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app webapp
PYBABEL := $(VENV)/bin/pybabel
HOST ?= 127.0.0.1
PORT ?= 5000

.DEFAULT_GOAL := help
.PHONY: help venv install install-dev translations run serve setup test test-fast lint format extract-messages update-messages compile-messages migration bench clean
.PHONY: security-scan fuzz

help: ## List the commands
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

# Installs take the lock files: every package pinned with its hashes, so a fresh install gets the
# same files as CI. requirements*.txt say what we ask for; `make lock` re-resolves the locks from them.
$(VENV)/.installed: requirements.lock $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements.lock requirements-dev.lock $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -r requirements-dev.lock
	touch $@

PIP_COMPILE_FLAGS = --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: lock
lock: $(VENV)/.installed-dev ## Re-resolve requirements.lock and requirements-dev.lock from requirements*.txt (pip-tools)
	$(VENV)/bin/pip install --quiet pip-tools
	$(VENV)/bin/pip-compile $(PIP_COMPILE_FLAGS) --output-file=requirements.lock requirements.txt
	$(VENV)/bin/pip-compile $(PIP_COMPILE_FLAGS) --output-file=requirements-dev.lock requirements-dev.txt

venv: $(VENV)/bin/python ## Create the virtual environment .venv

install: $(VENV)/.installed compile-messages ## Install the runtime dependencies and build the translations

install-dev: $(VENV)/.installed-dev compile-messages ## Install runtime and test dependencies

compile-messages: $(VENV)/.installed ## Compile the translation catalogs (.po -> .mo)
	@$(PYBABEL) compile --statistics -d webapp/translations 2>&1 | grep -v '^$$' || true

extract-messages: $(VENV)/.installed ## Extract every translatable string into webapp/translations/messages.pot
	$(PYBABEL) extract -F babel.cfg -k _l -k lazy_gettext -o webapp/translations/messages.pot --project "Son La Satisfaction Index" --sort-by-file .

update-messages: extract-messages ## Merge new strings into the vi and en catalogs
	$(PYBABEL) update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching

setup: install ## Migrate, load the registry, add demo data if the database is empty, publish ended periods
	$(FLASK) db upgrade
	$(FLASK) registry load
	$(FLASK) demo seed --if-empty
	@# Comments themed by older rules (surveys/themes.yaml's rules_version) get the current ones.
	$(FLASK) themes assign
	@# A period the disclosure audit refuses is reported and left unpublished; the site starts anyway.
	$(FLASK) publish --all-ended || echo "Some periods were not published (see above); the site starts with the others."

run: setup ## Fresh clone -> site with demo data at http://127.0.0.1:5000 (Ctrl+C stops it)
	@echo "Serving on http://$(HOST):$(PORT) – press Ctrl+C to stop."
	$(FLASK) run --host $(HOST) --port $(PORT)

# gunicorn runs several workers: rate limits must be counted in one shared Redis.
RATELIMIT_STORAGE_URI ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)

serve: setup ## Same data, served by gunicorn with gunicorn.conf.py (rate limits in Redis: RATELIMIT_STORAGE_URI)
	@RATELIMIT_STORAGE_URI='$(RATELIMIT_STORAGE_URI)' $(PY) -c 'import os, sys; from limits.storage import storage_from_string as s; u = os.environ["RATELIMIT_STORAGE_URI"]; sys.exit(0 if s(u).check() else "Redis does not answer at " + u + ": start it (apt-get install redis-server; redis-server --daemonize yes) or set RATELIMIT_STORAGE_URI")'
	RATELIMIT_STORAGE_URI='$(RATELIMIT_STORAGE_URI)' $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

.PHONY: worker
worker: install ## Run background jobs from Redis (JOBS_BROKER_URL=redis://...); without it, `make run` runs them itself
	@test -n "$(JOBS_BROKER_URL)" || (echo 'Set JOBS_BROKER_URL, e.g. JOBS_BROKER_URL=redis://127.0.0.1:6379/1 make worker'; exit 2)
	JOBS_BROKER_URL='$(JOBS_BROKER_URL)' $(FLASK) jobs worker --processes $${JOBS_PROCESSES:-1} --threads $${JOBS_THREADS:-4}

# The suite runs in one pytest-xdist worker per core (TEST_WORKERS=0 runs it in this process); a
# module's tests of one backend, and all browser tests, stay on one worker (tests/conftest.py).
TEST_WORKERS ?= auto

test: install-dev lint security-scan ## Fresh clone -> ruff, mypy, bandit, then the whole test suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
	$(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadgroup

security-scan: install-dev ## Static security checks of the code with bandit (zero findings allowed)
	$(VENV)/bin/bandit -c pyproject.toml -r webapp surveys public analysis -q

fuzz: install-dev ## Long fuzzing run: 10,000+ generated requests against the API and the forms; prints the count
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1000} FUZZ_MIN_REQUESTS=10000 $(PY) -m pytest -m fuzz -p no:cacheprovider -q -s tests/webapp/test_fuzz.py

test-fast: install-dev ## The suite without browser tests
	$(PY) -m pytest -m "not browser"

lint: install-dev ## Style (ruff check, ruff format --check) and types (mypy: analysis/, surveys/definitions.py)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install-dev ## Format the code with ruff
	$(VENV)/bin/ruff format .

migration: install ## Create the next numbered migration: make migration m="what changed"
	@test -n "$(m)" || (echo 'usage: make migration m="what changed"'; exit 2)
	$(FLASK) db migrate --rev-id $$(printf '%04d' $$(( $$(ls migrations/versions/*.py | wc -l) + 1 ))) -m "$(m)"

bench: install-dev ## Run the benchmarks (see bench/README.md; page and mixed loads need wrk and prepared databases)
	$(PY) bench/analysis_bench.py
	@if command -v wrk >/dev/null; then \
	  $(PY) bench/page_load.py run --english; \
	  $(PY) bench/load.py run --duration 600; \
	else echo "wrk not found (apt-get install -y wrk): page and mixed loads skipped"; fi

clean: ## Remove the virtual environment, the local database and caches
	rm -rf $(VENV) instance .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

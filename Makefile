# Planerka — two commands: `make run` (portal with demo data) and `make test` (whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
FLASK  := $(BIN)/flask --app wsgi
PO_FILES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

export HOST PORT

.PHONY: run test setup test-setup translations db demo index chromium lint format extract-messages clean

run: setup db demo index
	@echo ""
	@echo "  Planerka is starting at http://$(HOST):$(PORT)"
	@echo "  Demo logins:"
	@$(FLASK) demo-logins
	@echo ""
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: test-setup
	$(BIN)/pytest

setup: $(VENV)/.deps translations

test-setup: setup $(VENV)/.dev-deps chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	@touch $@

$(VENV)/.dev-deps: requirements-dev.txt $(VENV)/.deps
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

translations: $(MO_FILES)

portal/translations/%/LC_MESSAGES/messages.mo: portal/translations/%/LC_MESSAGES/messages.po | $(VENV)/.deps
	$(BIN)/pybabel compile -f -i $< -o $@

db: setup
	@$(FLASK) db upgrade

demo: db
	@$(FLASK) seed-demo

# Applies pending index changes; rebuilds the search index when it is missing.
index: demo
	@$(FLASK) reindex

# Browser tests drive Debian's Chromium through Playwright; never a downloaded browser.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

extract-messages: $(VENV)/.deps
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-deps
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache

# The two set-up commands of the README: `make run` and `make test`.
# Both create a private virtualenv (.venv) with the pinned dependencies first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit clean bench-load bench-update browser postgres

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Options for the demo, e.g. make run DEMO_ARGS="--host 0.0.0.0" (README: from another machine).
DEMO_ARGS ?=
# A consolidation centre of several prefectures side by side (issue 14), e.g. make run PREFECTURES=14,22:
# one instance per prefecture, each with its own database, CA and ports (docs/deployment.md).
PREFECTURES ?=
run: $(STAMP)
	$(BIN)/juki demo $(if $(PREFECTURES),--prefectures $(PREFECTURES)) $(DEMO_ARGS)

test: lint typecheck browser postgres unit

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

# The terminal UI's browser tests drive Debian's chromium (never a downloaded browser); the Japanese
# font makes the screenshots they save into docs/screenshots readable.
CHROMIUM ?= /usr/bin/chromium
CJK_FONT ?= /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
# The printed forms (interfaces/forms) need IPAmj明朝 (MJ 外字 and IVS) and the form tests read PDFs
# with poppler's pdftoppm / pdftotext, as a person would.
MJ_FONT ?= /usr/share/fonts/truetype/ipamj/ipamjm.ttf
PDFTOPPM ?= /usr/bin/pdftoppm
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@[ -x $(CHROMIUM) ] && [ -f $(CJK_FONT) ] && [ -f $(MJ_FONT) ] && [ -x $(PDFTOPPM) ] || { echo "installing chromium, fonts-noto-cjk, fonts-ipamj-mincho and poppler-utils (Debian packages) for the browser and form tests"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-ipamj-mincho poppler-utils >/dev/null; }
	@[ -x $(CHROMIUM) ] || { echo "chromium is required for the browser tests ($(CHROMIUM))"; exit 1; }
	@[ -f $(MJ_FONT) ] && [ -x $(PDFTOPPM) ] || { echo "fonts-ipamj-mincho and poppler-utils are required for the forms ($(MJ_FONT), $(PDFTOPPM))"; exit 1; }

unit: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .juki-data

# docs/deployment.md is walked by tests/tools/test_deployment_guide.py against Debian's own
# PostgreSQL server (initdb / pg_ctl of postgresql-15), installed here like chromium: never a download.
# Its point-in-time recovery part (tests/faults/test_pitr.py) needs Debian's pgbackrest too.
PG15_BIN ?= /usr/lib/postgresql/15/bin
# The failover fault test (tests/faults/test_failover.py, S-49) runs a pg_auto_failover formation:
# Debian's pg_autoctl and its extension for PostgreSQL 15, installed the same way.
PG_AUTOCTL ?= /usr/bin/pg_autoctl
PGAF_EXT ?= /usr/share/postgresql/15/extension/pgautofailover.control
PGBACKREST ?= /usr/bin/pgbackrest
postgres:
	@[ -x $(PG15_BIN)/initdb ] && [ -x $(PG_AUTOCTL) ] && [ -f $(PGAF_EXT) ] && [ -x $(PGBACKREST) ] || { echo "installing postgresql-15, postgresql-15-auto-failover, pg-auto-failover-cli and pgbackrest (Debian packages) for the deployment guide's, the failover and the point-in-time recovery tests"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-15-auto-failover pg-auto-failover-cli pgbackrest >/dev/null; }
	@[ -x $(PG15_BIN)/initdb ] || { echo "postgresql-15 is required for the deployment guide's test ($(PG15_BIN))"; exit 1; }
	@[ -x $(PG_AUTOCTL) ] && [ -f $(PGAF_EXT) ] || { echo "pg-auto-failover-cli and postgresql-15-auto-failover are required for the failover test"; exit 1; }
	@[ -x $(PGBACKREST) ] || { echo "pgbackrest is required for the point-in-time recovery test ($(PGBACKREST))"; exit 1; }

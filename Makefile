# Inkstone: `make run` serves the blog, `make test` runs the suite. Both set up everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
WITH_ENV := $(PY) -m config.localenv --
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-fast lint fmt check collectstatic browser-deps clean-db \
	bench bench-render search-eval messages container-check lock backup restore \
	scale-check resilience-check

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

staticfiles/staticfiles.json: $(STAMP) $(shell find static -type f 2>/dev/null)
	@DJANGO_SECRET_KEY=collectstatic $(PY) manage.py collectstatic --noinput -v 0
	@touch $@

collectstatic: staticfiles/staticfiles.json

# Feeds, sitemaps and canonical links point at the address make run serves. On all
# interfaces (HOST=0.0.0.0), that is the machine's first address, which is also
# allowed as a host name besides 127.0.0.1 and localhost.
run: install collectstatic
	@public=$$(case "$(HOST)" in 0.0.0.0) hostname -I 2>/dev/null | cut -d' ' -f1;; \
	  *) echo "$(HOST)";; esac); public=$${public:-127.0.0.1}; \
	  SITE_URL="$${SITE_URL:-http://$$public:$(PORT)}" \
	  DJANGO_ALLOWED_HOSTS="$${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost,$$public}" \
	  $(WITH_ENV) sh -c '\
	  $(PY) manage.py migrate --noinput -v 0 && \
	  $(PY) manage.py rerender_posts -v 0 && \
	  $(PY) manage.py load_demo_content && \
	  $(PY) manage.py ensure_admin && \
	  echo "Inkstone is at $$SITE_URL/ (admin: $$SITE_URL/admin/)" && \
	  exec $(VENV)/bin/gunicorn config.wsgi -c config/gunicorn.conf.py --bind $(HOST):$(PORT)'

# Browser tests need Debian's chromium and CJK fonts; installed once if missing.
browser-deps:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "noto.*cjk" || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: install collectstatic browser-deps
	@$(WITH_ENV) $(PY) -m pytest $(PYTEST_ARGS)

test-fast: install collectstatic
	@$(WITH_ENV) $(PY) -m pytest -m "not browser and not container and not resilience" $(PYTEST_ARGS)

lint: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

fmt: install
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

check: install
	@$(WITH_ENV) sh -c '$(PY) manage.py check && $(PY) manage.py makemigrations --check --dry-run'

clean-db:
	rm -rf var/pgdata

# Benchmarks print figures; they are not part of `make test`.
bench: install collectstatic
	@$(PY) bench/run.py $(BENCH_ARGS)

bench-render: install
	@$(WITH_ENV) $(PY) bench/bench_render.py

search-eval: install
	@$(WITH_ENV) $(PY) bench/search_eval.py

# Rebuild the Chinese interface catalogue after changing interface strings.
messages: install
	@$(WITH_ENV) sh -c 'for domain in django djangojs; do \
	  $(PY) manage.py makemessages -d $$domain -l zh_Hans --ignore=.venv --ignore=var \
	  --ignore=staticfiles --ignore=tests --ignore=bench || exit 1; done && \
	  $(PY) manage.py compilemessages --ignore=.venv'

# The Docker image, compose file and nginx proxy, proven without Docker (2-4 minutes).
container-check: install
	@$(WITH_ENV) $(PY) scripts/container_check.py

# Pin the image's runtime dependencies after changing [project.dependencies].
lock: install
	@$(PY) deploy/lock_requirements.py

# DIR defaults to var/backups; FROM is the prefix `make backup` prints.
backup: install
	@$(WITH_ENV) scripts/backup.sh $(DIR)

restore: install
	@test -n "$(FROM)" || { echo "usage: make restore FROM=var/backups/inkstone-YYYYmmddTHHMMSSZ" >&2; exit 2; }
	@$(WITH_ENV) scripts/restore.sh $(FROM)

# Two replicas sharing PostgreSQL, Redis and S3 (moto), then Redis and S3 outages.
scale-check: install collectstatic
	@$(WITH_ENV) $(PY) scripts/scale_check.py

# Database outage, killed/reloaded workers, full disk, hostile load: CHECKS=db-outage ...
resilience-check: install collectstatic
	@$(WITH_ENV) $(PY) scripts/resilience_check.py $(or $(CHECKS),all) $(RESILIENCE_ARGS)

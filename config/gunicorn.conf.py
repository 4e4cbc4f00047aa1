"""gunicorn settings; every value can be overridden from the environment."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from config.env import env_bool, env_number  # noqa: E402  (the project's root, above)

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = env_number("WEB_CONCURRENCY", 2, minimum=1)
# gthread workers. Slow clients still hold a thread each while they send their
# headers, so gunicorn must sit behind a buffering proxy (nginx in the compose file).
# Two threads overlap a request's database waits with another's Python; more only
# contend for the GIL: on two cores at 32 connections, a page rendered from
# PostgreSQL cost 12% less CPU with 2 threads than with 4 (README, Read-heavy tuning).
worker_class = "gthread"
threads = env_number("GUNICORN_THREADS", 2, minimum=1)
timeout = env_number("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout = env_number("GUNICORN_GRACEFUL_TIMEOUT", 20, minimum=1)
keepalive = 5
# The app logs one JSON line per request (config/middleware.py); gunicorn's own
# access log is off unless asked for.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The control socket (gunicorn 25.1+) wants a writable $HOME; the container has none.
control_socket_disable = True
# Load the app once in the master: a HUP reload swaps in workers that are ready at
# once, instead of leaving a gap while each new worker imports Django.
preload_app = env_bool("GUNICORN_PRELOAD", True)

"""The floor under every Django figure: gunicorn with the shipped config serving one
fixed page from memory, no Django at all. bench/run.py runs it with
`--pythonpath bench wsgi_floor:application` and BENCH_FLOOR_HTML set to a file."""

import os
from pathlib import Path

BODY = Path(os.environ["BENCH_FLOOR_HTML"]).read_bytes()
HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Length", str(len(BODY))),
]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]

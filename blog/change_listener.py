"""Content changes pushed by PostgreSQL: each process LISTENs on the channel that the
content version's trigger NOTIFYs at every committed change (migration 0008), so a
page edited through any process or replica is not served as it was once PostgreSQL
has delivered the notification (just after the commit: it is sent asynchronously).

The page cache keys pages on the content token (blog.page_cache), which a process
memoizes so that cache hits cost no query. A memoized token is trusted while this
listener vouches for it: it was read while the listening connection was up, no
notification has come since, and none is waiting unread on the socket. So a request
that starts once PostgreSQL has sent the notification reads the new version. While
the listener is down (starting, reconnecting, or turned off with
PAGE_CACHE_LISTEN=false for a pooler that cannot LISTEN, such as PgBouncer in
transaction mode) a token is trusted for PAGE_CACHE_TOKEN_TTL seconds instead.
"""

import logging
import os
import select
import threading
import time

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections

# Migration 0008 notifies on it.
CHANNEL = "inkstone_content"
# The idle listener proves its connection alive this often; a connection that has
# not answered for STALE_AFTER seconds vouches for nothing (a peer that vanished
# without closing the socket sends no error).
CHECK_SECONDS = 10.0
STALE_AFTER = 2 * CHECK_SECONDS + 5
RETRY_SECONDS = (0.5, 1, 2, 5, 10, 30)

logger = logging.getLogger("inkstone.cache")


class ChangeListener:
    def __init__(self, on_change):
        self.on_change = on_change
        self.lock = threading.Lock()
        self.pid: int | None = None
        self.fd: int | None = None
        # When LISTEN last took effect (None while not listening), and how many
        # notifications have come since: together, the state a token is read in.
        self.since: float | None = None
        self.changes = 0
        self.alive_at = 0.0
        self.backend_pid: int | None = None
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()

    def start(self) -> None:
        """Listen from this process (once; in a forked worker, anew)."""
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.fd = self.since = None
            self.stopping.clear()
            self.thread = threading.Thread(
                target=self._run, name="inkstone-change-listener", daemon=True
            )
            self.thread.start()

    def stop(self) -> None:
        """Stop listening and close the connection (a worker that exits ends the
        daemon thread anyway; tests must, before their database is dropped)."""
        with self.lock:
            self.stopping.set()
            backend, thread = self.backend_pid, self.thread
            if backend is not None:
                with self._connect() as conn:
                    conn.execute("SELECT pg_terminate_backend(%s)", [backend])
            if thread is not None:
                thread.join(timeout=10)
            self.pid = self.fd = self.since = self.backend_pid = self.thread = None

    def state(self) -> tuple[float, int] | None:
        """Taken before reading the content token; None while not listening."""
        since = self.since
        if since is None or self.pid != os.getpid():
            return None
        return (since, self.changes)

    def vouches(self, state: tuple[float, int] | None) -> bool:
        """No change has committed since `state` was taken that this process has
        not been told of: same connection, no notification since, none unread."""
        if state is None or state != (self.since, self.changes):
            return False
        if self.pid != os.getpid() or time.monotonic() - self.alive_at > STALE_AFTER:
            return False
        fd = self.fd
        if fd is None:
            return False
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    def _run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                with self._connect() as conn:
                    try:
                        self.backend_pid = conn.info.backend_pid
                        conn.execute(f"LISTEN {CHANNEL}")
                        # Anything read before LISTEN took effect may be stale.
                        self.on_change()
                        self.fd = conn.fileno()
                        self.alive_at = time.monotonic()
                        self.since = self.alive_at
                        if failures:
                            logger.warning("listening for content changes again")
                        failures = 0
                        self._listen(conn)
                    finally:
                        # Before the socket closes: its number may be reused.
                        self.since = self.fd = self.backend_pid = None
            except Exception as error:  # any failure: fall back on the TTL, retry
                if self.stopping.is_set():
                    return
                if failures == 0:
                    logger.warning(
                        "not listening for content changes (pages are trusted for "
                        "PAGE_CACHE_TOKEN_TTL seconds until it comes back): %r",
                        error,
                    )
                self.stopping.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1

    def _listen(self, conn: psycopg.Connection) -> None:
        while not self.stopping.is_set():
            for _ in conn.notifies(timeout=CHECK_SECONDS):
                self.changes += 1
                self.on_change()
            conn.execute("SELECT 1")
            self.alive_at = time.monotonic()

    @staticmethod
    def _connect() -> psycopg.Connection:
        params = connections[DEFAULT_DB_ALIAS].get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("prepare_threshold", None)
        return psycopg.connect(**params, autocommit=True)

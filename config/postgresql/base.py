"""Django's PostgreSQL backend, with cursors that prepare what they run (for the
reader statements of blog.views) and a health check that costs no round trip while
the server has not closed the connection.

Django checks a reused connection with `SELECT 1` at the start of every request
(CONN_HEALTH_CHECKS): a round trip and a statement for PostgreSQL on each cold page,
about a tenth of an article's CPU. A server that closes a connection (a restart,
pg_terminate_backend, idle_session_timeout) first sends it an error and end of file,
so an idle connection whose socket has nothing to read is still open; only then is
the `SELECT 1` skipped. A connection with something to read, or one psycopg already
marked broken, gets Django's check, fails it and is replaced before the request
uses it.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class PreparingCursor(base.ServerBindingCursor):
    """A cursor that binds parameters on the server and prepares what it runs: a
    connection parses the statement once and, after five runs, PostgreSQL keeps one
    plan for it instead of planning it on every request. PostgreSQL planned
    the article statement in 0.5-0.8 ms and ran it in 0.6; prepared, a round trip
    took 0.54 ms instead of 1.7. With DATABASE_PREPARED_STATEMENTS off, psycopg runs
    the statement unprepared.

    Results come in PostgreSQL's binary format: psycopg loads timestamps in C, where
    Django's loader for text timestamps is Python (6% of a list page's
    instructions), and text such as an article's body can be fetched as UTF-8 bytes
    (textsend) without being decoded. A jsonb column would come decoded, which
    Django's JSONField does not expect: cast it to text."""

    def __init__(self, connection, **kwargs):
        super().__init__(connection, **kwargs)
        self.format = pq.Format.BINARY

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)

    def _maybe_prepare_gen(self, pgq, *, prepare=None, binary=None):
        # psycopg records the statement only when it runs unprepared; Django's query
        # log (DEBUG, tests) reads it from here, and logged None for these.
        self._query = pgq
        return super()._maybe_prepare_gen(pgq, prepare=prepare, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    def prepared_cursor(self):
        """cursor(), wrapping a PreparingCursor. (blog.views made a cursor and then a
        second one to wrap: 2% of a cold article's instructions with the lookups of
        the connection proxy.)"""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(PreparingCursor(self.connection))

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and self.socket_is_quiet()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def socket_is_quiet(self) -> bool:
        """Nothing has arrived on the idle connection: no error, no end of file."""
        if self.connection.closed or self.connection.broken:
            return False
        try:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

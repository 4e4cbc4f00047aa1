"""Django's PostgreSQL backend, with a health check that costs no round trip while
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


class DatabaseWrapper(base.DatabaseWrapper):
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

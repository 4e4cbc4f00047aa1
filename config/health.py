"""Liveness and readiness probes for load balancers and orchestrators."""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

_migrations_checked = False


@never_cache
@require_safe
def healthz(request):
    """The process is alive; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _unready(reason: str) -> JsonResponse:
    response = JsonResponse({"status": "unavailable", "reason": reason}, status=503)
    # A probe every few seconds: django.request would log an error for each. The
    # outage itself is logged by the requests it fails (config.middleware).
    response._has_been_logged = True
    return response


@never_cache
@require_safe
def readyz(request):
    """The database answers and every migration is applied."""
    global _migrations_checked
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_checked:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if pending:
                return _unready(f"{len(pending)} migrations not applied")
            _migrations_checked = True
    except DatabaseError as error:
        response = _unready(f"database: {error.__class__.__name__}")
        response["Retry-After"] = "5"
        return response
    return JsonResponse({"status": "ok"})


class ProbeMiddleware:
    """Answers the probes ahead of everything else. Load balancers and orchestrators
    probe over plain HTTP with the address they reach as Host (a pod's IP), which
    ALLOWED_HOSTS rightly refuses for pages; and a probe every few seconds has no
    place in the request log."""

    probes = {"/healthz": healthz, "/readyz": readyz}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = self.probes.get(request.path_info)
        return probe(request) if probe else self.get_response(request)

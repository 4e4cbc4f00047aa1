"""The scale and resilience drills of scripts/scale_check.py and resilience_check.py.

Each test runs one check as a subprocess (it starts its own servers on 127.0.0.1)
and asserts its PASS line. Select them with `-m resilience`, or leave them out with
`-m "not resilience"`. The short ones take about two minutes together; `hostile`
takes about two more and runs only with INKSTONE_LONG_CHECKS=1.

They need PostgreSQL (RESILIENCE_DATABASE_URL, else DATABASE_URL: a database is
created there and dropped), redis-server, `moto[server]` for the scale check, and
root for the full-disk check (it mounts a tmpfs).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"

pytestmark = pytest.mark.resilience

long_check = pytest.mark.skipif(
    os.environ.get("INKSTONE_LONG_CHECKS") != "1",
    reason="long check: set INKSTONE_LONG_CHECKS=1",
)


def run_check(script: str, *args: str, timeout: int) -> str:
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    report = result.stdout + result.stderr
    print(report)
    assert result.returncode == 0, report
    assert "FAIL" not in result.stdout, report
    return result.stdout


def test_two_instances_share_sessions_cache_and_media_and_degrade_alone():
    pytest.importorskip("moto", reason="needs moto[server]")
    assert shutil.which("redis-server"), "needs redis-server"
    stdout = run_check("scale_check.py", "--budget", "200", timeout=240)
    for name in ("two-instance", "redis-down", "storage-down"):
        assert f"PASS scale {name}:" in stdout


def test_database_outage_answers_503_serves_cached_pages_and_recovers():
    stdout = run_check(
        "resilience_check.py", "db-outage", "--budget", "120", timeout=150
    )
    assert "PASS resilience db-outage:" in stdout


def test_killed_reloaded_and_stopped_workers_lose_no_accepted_request():
    stdout = run_check("resilience_check.py", "workers", "--budget", "120", timeout=150)
    assert "PASS resilience workers:" in stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs: needs root")
def test_full_disk_answers_507_and_leaves_no_partial_file():
    stdout = run_check(
        "resilience_check.py", "full-disk", "--budget", "90", timeout=120
    )
    assert "PASS resilience full-disk:" in stdout


@long_check
def test_slow_clients_and_costly_previews_do_not_starve_readers():
    stdout = run_check("resilience_check.py", "hostile", "--budget", "300", timeout=330)
    assert "PASS resilience hostile:" in stdout

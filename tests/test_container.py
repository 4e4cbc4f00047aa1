"""The Docker deployment, proven without Docker by scripts/container_check.py.

Slow (about two minutes) and needs PostgreSQL over TCP, npm and root for nginx; select
it with `-m container`, or leave it out with `-m "not container"`.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.container
def test_image_compose_and_proxy_replay_passes_every_step():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "container_check.py")],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=330,
    )

    report = result.stdout + result.stderr
    print(report)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, report
    assert not [line for line in lines if line.startswith("FAIL")], report
    assert lines[-1].startswith("PASS container check: 0 failed"), report

"""No server outlives the stack that started it, even when that process is killed outright."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

STARTER = """
import json, sys, time
from pathlib import Path
from bull_chalice.local import LocalStack
from bull_chalice.processes import free_port
work = Path(sys.argv[1])
stack = LocalStack(app_port=free_port(), moto_port=free_port(), stripe_port=free_port(),
                   state_file=work / "local.json", log_dir=work / "logs",
                   rehearse=sys.argv[2] == "make rehearse")
stack.start()
print(json.dumps([p.pid for p in stack.processes.values()]), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _descendants(pids: list[int]) -> list[int]:
    """The processes below `pids` (the rehearsal's Lambda execution environments)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], set(pids)
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = set(children)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux")
@pytest.mark.parametrize("shape", ["make run", "make rehearse"])
def test_servers_die_when_their_stack_is_killed_with_sigkill(tmp_path, shape):
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path), shape],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    pids: list[int] = []
    try:
        pids = json.loads(starter.stdout.readline())
        assert len(pids) == 3 and all(_alive(pid) for pid in pids)
        pids += _descendants(pids)
        if shape == "make rehearse":
            assert len(pids) >= 3 + 3  # and the execution environments
        starter.kill()  # no handler, no `stop()`: only the kernel can clean up now
        starter.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in pids if _alive(pid)]
    finally:
        starter.kill()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

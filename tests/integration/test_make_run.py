"""`bull local` (what `make run` runs) and `bull rehearse` (`make rehearse`) in their own
process: each writes the state file once every service answers, and Ctrl-C stops every child
and frees every port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bull_chalice.processes import free_port

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("command", "base_path", "served_under"),
    [
        ("local", None, ""),
        ("rehearse", None, "/api"),  # API Gateway's default URL: the stage is the base path
        ("rehearse", "", ""),  # a custom domain mapped at the root
        ("rehearse", "shop", "/shop"),  # a custom domain with a base-path mapping
    ],
)
def test_ctrl_c_stops_every_service_and_frees_the_ports(
    tmp_path: Path, command: str, base_path: str | None, served_under: str
):
    ports = {
        "BULL_PORT": free_port(),
        "BULL_MOTO_PORT": free_port(),
        "BULL_STRIPE_PORT": free_port(),
    }
    state_file = tmp_path / "local.json"
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "BULL_STATE_DIR": str(tmp_path),
    }
    if base_path is not None:
        env["BULL_BASE_PATH"] = base_path
    bull = Path(sys.executable).with_name("bull")
    process = subprocess.Popen(
        [str(bull), command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180  # a first rehearsal packages the app
        while not state_file.exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read().decode()
            time.sleep(0.2)
        state = json.loads(state_file.read_text())
        assert state["api_url"] == f"http://127.0.0.1:{ports['BULL_PORT']}{served_under}"
        page = requests.get(f"{state['api_url']}/", timeout=10)
        assert page.status_code == 200
        assert f'action="{state["api_url"]}/checkout/{state["demo_product_id"]}"' in page.text

        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "Stopped; ports are free." in output
    assert not any(_listening(port) for port in ports.values())
    assert not state_file.exists()
    # It said what it was doing while it started, step by step, before the URLs.
    app_step = "Packaging the app" if command == "rehearse" else "Starting the app (chalice local)"
    steps = ["Starting moto", "Provisioning", "Starting the Stripe stand-in", app_step, "Store"]
    where = [output.find(step) for step in steps]
    assert -1 not in where and where == sorted(where), output


def test_make_says_what_it_installs_before_the_silent_pip_steps():
    """The first `make run` spends a minute or two in pip: a line says so before it starts."""
    root = Path(__file__).resolve().parents[2]
    plan = subprocess.run(
        ["make", "-n", "-B", "install"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    first_pip = next(i for i, line in enumerate(plan) if "pip install" in line)
    said = [i for i, line in enumerate(plan) if line.startswith("echo") and "install" in line]
    assert said and said[0] < first_pip, plan


def test_a_taken_port_fails_with_a_clear_message_and_starts_nothing(tmp_path: Path):
    from bull_chalice.local import LocalStack, StackError

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        stack = LocalStack(
            app_port=taken,
            moto_port=free_port(),
            stripe_port=free_port(),
            state_file=tmp_path / "local.json",
            log_dir=tmp_path / "logs",
        )
        with pytest.raises(StackError, match=f"app port {taken} already in use"):
            stack.start()
    assert stack.processes == {} and not (tmp_path / "local.json").exists()

"""Child servers on 127.0.0.1: started in their own process group, dying with their parent,
waited for until they answer, and stopped by PID. The local stack, the rehearsal and the tests
that start servers of their own all use these."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A server could not start: a port is taken, it exited, or it did not answer in time."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def die_with_parent() -> Callable[[], None] | None:
    """A hook for the child, between fork and exec: on Linux the kernel sends it SIGTERM when
    the process that started it dies, however it dies (a `kill -9`, a killed test run), so no
    server outlives its parent. `terminate()` remains the normal way out."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, before any fork
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the hook ran
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


def spawn(argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    """Start a server in its own session (Ctrl-C in a terminal reaches only its parent), its
    output in `log`, dying with this process."""
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(),  # only calls prctl, resolved before the fork
        )


def wait_for(url: str, deadline: float, process: subprocess.Popen, name: str) -> None:
    """Wait until `url` answers below 500.

    Raises:
        StackError: the process exited, or `deadline` (monotonic) passed.
    """
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"{name} exited with code {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise StackError(f"{name} did not answer at {url} in time")


def terminate(process: subprocess.Popen, timeout: float = 5) -> None:
    """Stop a child by PID (with its process group when it leads one): TERM, then KILL."""
    if process.poll() is not None:
        return
    try:
        group = os.getpgid(process.pid) == process.pid
        send = (lambda sig: os.killpg(process.pid, sig)) if group else process.send_signal
        send(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
            process.wait(timeout=timeout)
    except ProcessLookupError:
        return

"""A run's processes end with it.

A run is a tree of processes: the command (``python -m augworth ...``, the orchestrator), the
Jupyter kernel each notebook executes in (papermill starts it in a session of its own, so a
terminal's Ctrl-C never reaches it), and the pool workers that compute a sweep's cells. Any of
them may be ended from outside: Ctrl-C, SIGTERM from ``timeout`` or a job scheduler, SIGHUP when
a terminal closes, ``kill -9``. Whatever ends the orchestrator, the rest must stop within
seconds, leave nothing half-written, and let the next run resume from the cells already stored:

- :func:`follow` (in every child: a pool worker, a notebook's kernel) watches the parent from a
  daemon thread, four times a second; when the parent is gone -- however it died, ``-9``
  included -- the child stops at once. SIGTERM and SIGHUP stop it the same way.
- :func:`handle_signals` (in the orchestrator): Ctrl-C, SIGTERM and SIGHUP print one line,
  stop every child process (their groups: a kernel's group holds its pool workers), and exit
  with 128 + the signal's number; no traceback from the machinery it interrupts.
- Stopping (:func:`stop`) runs the registered clean-ups (:func:`at_stop`: pools kill their
  workers) and removes the temporary files of writes in flight (:mod:`augworth.io` writes
  atomically, so a finished file is whole and an unfinished one is only a temporary file), then
  leaves with ``os._exit``: nothing else runs that could hang on a dead parent's pipe.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from . import io

POLL_S = 0.25  # how often a child looks for its parent
_AT_STOP: dict[int, Callable[[], None]] = {}
_FOLLOWING: list[int] = []


def at_stop(fn: Callable[[], None]) -> Callable[[], None]:
    """Run ``fn`` when this process is stopped by a signal or its parent's death; returns a
    function that unregisters it."""
    token = id(fn)
    _AT_STOP[token] = fn
    return lambda: _AT_STOP.pop(token, None)


def stop(code: int, message: str | None = None) -> None:
    """Leave now: the clean-ups, the temporary files of unfinished writes, then ``os._exit``."""
    for fn in list(_AT_STOP.values()):
        try:
            fn()
        except Exception:  # noqa: BLE001 -- leaving anyway; one failed clean-up must not stop the others
            pass
    io.discard_unfinished()
    if message:
        try:
            print(message, file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 -- stderr may be a closed pipe
            pass
    os._exit(code)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (dead, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def follow(parent: int) -> None:
    """Stop this process when ``parent`` dies (or SIGTERM/SIGHUP arrive). Idempotent."""
    if _FOLLOWING:
        return
    _FOLLOWING.append(parent)
    direct = os.getppid() == parent

    def watch() -> None:
        while True:
            if (direct and os.getppid() != parent) or not _alive(parent):
                stop(143)
            time.sleep(POLL_S)

    if (direct and os.getppid() != parent) or not _alive(parent):
        stop(143)  # the parent died before we got here
    threading.Thread(target=watch, name="augworth-follow-parent", daemon=True).start()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda signum, frame: stop(128 + signum))
    os.environ["AUGWORTH_PARENT_PID"] = str(os.getpid())  # children of this process follow it in turn


def follow_from_environment() -> None:
    """In a process a run started through an intermediary (a notebook's kernel: papermill starts
    it), follow the process named by ``AUGWORTH_PARENT_PID``."""
    raw = os.environ.get("AUGWORTH_PARENT_PID", "")
    if raw.isdigit() and int(raw) != os.getpid():
        follow(int(raw))


def _children(pid: int) -> list[tuple[int, int]]:
    """(pid, process group) of ``pid``'s children, read from /proc (empty where there is none)."""
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append((int(entry), int(fields[2])))
    return out


def stop_children(grace_s: float = 3.0) -> None:
    """SIGTERM to every child (to its whole group when it leads one of its own, as a kernel
    does), SIGKILL to those still there after ``grace_s``."""
    me, my_group = os.getpid(), os.getpgid(0)
    kids = _children(me)

    def send(sig: int) -> None:
        for pid, group in kids:
            try:
                if group != my_group and group == pid:
                    os.killpg(group, sig)
                else:
                    os.kill(pid, sig)
            except OSError:
                pass

    send(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(pid) for pid, _ in kids):
        for pid, _ in kids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except OSError:
                pass
        time.sleep(0.05)
    send(signal.SIGKILL)


def handle_signals(line: Callable[[int], str]) -> None:
    """In the orchestrator: Ctrl-C, SIGTERM and SIGHUP print ``line(signum)``, stop every child
    and exit with 128 + signum."""

    def handler(signum, frame) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C must not interrupt this
            signal.signal(sig, signal.SIG_IGN)
        stop_children()
        stop(128 + signum, line(signum))  # the line counts what the children stored before they stopped

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)

"""One process at a time per stage: a file lock held for the whole check-compute-publish sequence.

The lock (`filelock`, flock underneath) dies with its process, so a killed run never
leaves a stale one. A waiting process says so, names the holder, and gives up after
`$HARNESS_LOCK_TIMEOUT` seconds when that is set. A store that cannot be written at all
raises `ReadOnlyStore`, so that finished stages can still be read (`harness.store.Stage.lock`).
"""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path
from typing import Any

from harness.env import env_seconds
from harness.errors import HarnessError

LOCK_TIMEOUT_ENV = "HARNESS_LOCK_TIMEOUT"
WAIT_LOG_S = 30.0

_LOCKS: dict[str, Any] = {}  # one FileLock per lock file and process: flock is per open file


def _file_lock(path: Path):
    from filelock import FileLock

    lock = _LOCKS.get(str(path))
    if lock is None:
        lock = _LOCKS[str(path)] = FileLock(str(path))
    return lock


def lock_timeout() -> float | None:
    """`$HARNESS_LOCK_TIMEOUT`: seconds to wait for another process's lock (0: do not wait); None waits for ever."""
    return env_seconds(LOCK_TIMEOUT_ENV, 0.0, "a wait for another process has no limit")


class ReadOnlyStore(HarnessError):
    """The run store cannot be written (a read-only mount, no write permission): no lock can be taken."""

    def __init__(self, root: Path, reason: str) -> None:
        super().__init__(f"the run store {root} is read-only ({reason})")
        self.root = root


READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


def _unwritable(exc: OSError, root: Path, what: str) -> HarnessError:
    """The one-line error for a lock that cannot be taken: `ReadOnlyStore` when writing is refused."""
    if exc.errno in READ_ONLY_ERRNOS:
        return ReadOnlyStore(root, exc.strerror or str(exc))
    return HarnessError(f"{what}: {exc.strerror or exc}")


def _read_owner(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""


def acquire(lock_path: Path, what: str, root: Path) -> None:
    """Take the lock at `lock_path` (re-entrant in a process), waiting for another process that holds it.

    `what` names the stage in the waiting lines; `root` is the run store, named when the lock
    folder cannot be written.
    """
    from filelock import Timeout

    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(exc, root, f"cannot write to the run store {root}") from None
    lock = _file_lock(lock_path)
    owner = _owner_file(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        _wait(lock, what, _read_owner(owner))
    except OSError as exc:
        raise _unwritable(exc, root, f"cannot lock {lock_path}") from None
    if lock.lock_counter == 1:
        try:
            owner.write_text(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}\n")
        except OSError:
            pass  # the owner line is a courtesy to whoever waits


def _wait(lock: Any, what: str, holder: str) -> None:
    from filelock import Timeout

    from harness.console import log

    limit = lock_timeout()
    log(f"waiting for {what}: another process{holder} is computing it")
    started = time.monotonic()
    while True:
        waited = time.monotonic() - started
        if limit is not None and waited >= limit:
            raise HarnessError(f"{what} is still being computed by another process{holder} after "
                               f"{waited:.0f} s ({LOCK_TIMEOUT_ENV}={limit:g}); try again later") from None
        step = WAIT_LOG_S if limit is None else min(WAIT_LOG_S, limit - waited)
        try:
            lock.acquire(timeout=max(step, 0.0))
            break
        except Timeout:
            log(f"still waiting for {what} ({time.monotonic() - started:.0f} s)")
    log(f"{what}: the other process finished")


def release(lock_path: Path) -> None:
    """Undo one `acquire` of this process (nothing when it holds none)."""
    lock = _file_lock(lock_path)
    if lock.lock_counter == 0:
        return
    if lock.lock_counter == 1:
        _owner_file(lock_path).unlink(missing_ok=True)
    lock.release()


def held(lock_path: Path) -> int:
    """How many acquisitions of this lock the process holds."""
    return _file_lock(lock_path).lock_counter


def _owner_file(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".owner")

"""Content-addressed run store, one folder per stage output.

Each stage output lives at `<root>/<stage>/<label>-<key>/`, where the key hashes exactly the
inputs and settings that affect it (upstream keys included, so the chain is a Merkle
chain). Work happens in `<name>.partial/`, which survives a kill so that resumable stages
(generation, training) can pick up where they stopped; only `commit()` publishes it under
the final name. An attempt that fails (an error, Ctrl-C) removes its partial folder when it
holds nothing to resume from; one with generations or checkpoints in it stays for the next.

Three guarantees, so that concurrent runs, damage and hand edits cannot corrupt a result:

* One process at a time computes a stage: `Stage.lock()` holds a file lock
  (`<root>/.locks/<stage>/<name>.lock`, `harness.store_locks`) for the whole check-compute-publish
  sequence, and `begin()` takes it too. A second process waits (saying so) and then finds
  the stage done and reuses it. The lock dies with its process, so a killed run never
  leaves a stale one.
* Publishing never exposes a partial folder: the final name appears by one rename, and a
  recomputed stage replaces the old folder by an atomic exchange (Linux `renameat2`), so
  the final name never disappears or shows a half-written folder (`harness.store_files`).
* The manifest, written last, lists every file of the stage with its size and sha256 and
  records the key and inputs. A folder is reused only when its manifest parses, names this
  key, and every listed file is there with its size (and its hash, for files up to
  `SMALL_FILE` bytes always and for every file with `verify`). A damaged or edited folder
  is reported in one line naming the stage and recomputed in place (every stage is a
  deterministic function of its key's inputs, so recomputing is always safe).

A store this process cannot write (a read-only mount, no permission) still serves its
finished stages: without a lock, since writing nothing it cannot corrupt anything, and a
published folder only ever changes by one rename. A stage it would have to compute is a
one-line error saying the store is read-only.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from harness.errors import HarnessError, brief
from harness.jsonl import read_json, write_failed, write_json
from harness.store_files import (INPUTS, MANIFEST, SMALL_FILE, STORE_SCHEMA, canonical, check_folder, file_sha256,
                                 hash_key, list_files, publish)
from harness.store_locks import LOCK_TIMEOUT_ENV, ReadOnlyStore, acquire, held, release

DEFAULT_STORE = Path.home() / ".cache" / "harness"
LOCKS = ".locks"
# Names that become folders: no separators, no leading dot, nothing a shell or a glob trips on.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# Folders no run store may live under (pseudo file systems: writes fail or do harm); /dev/shm is a RAM disk.
SYSTEM_ROOTS = ("/proc", "/sys", "/dev")
ALLOWED_UNDER_SYSTEM = ("/dev/shm",)
VERIFY_ENV = "HARNESS_VERIFY"

__all__ = ["DEFAULT_STORE", "INPUTS", "LOCKS", "LOCK_TIMEOUT_ENV", "MANIFEST", "SMALL_FILE", "STORE_SCHEMA", "RunStore",
           "Stage", "canonical", "check_folder", "check_name", "check_root", "default_root", "file_sha256", "hash_key",
           "list_files", "publish"]


def default_root() -> Path:
    return Path(os.environ.get("HARNESS_STORE") or DEFAULT_STORE)


def check_name(name: str, what: str) -> str:
    """A name that becomes a store folder: letters, digits, `_` and `-`, at most 64 characters."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise HarnessError(f"{what} {brief(name)} cannot name a store folder (allowed: {SAFE_NAME.pattern})")
    return name


def check_root(root: str | Path, create: bool = False) -> Path:
    """A usable run-store root, or a one-line error: not a file, not a system folder, writable."""
    path = Path(root).expanduser()
    broken = _broken_link(path)
    if broken:
        link, problem = broken
        where = f"run store {path}" if link == path else f"run store {path}: {link}"
        raise HarnessError(f"{where} {problem}; choose another --store")
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, before Python 3.13
        raise HarnessError(f"run store {path} cannot be resolved ({exc}); choose another --store") from None
    allowed = any(resolved == Path(a) or Path(a) in resolved.parents for a in ALLOWED_UNDER_SYSTEM)
    for system in SYSTEM_ROOTS:
        if not allowed and (resolved == Path(system) or Path(system) in resolved.parents):
            raise HarnessError(f"run store {path} is under {system}, a system folder; choose another --store")
    if resolved.exists() and not resolved.is_dir():
        raise HarnessError(f"run store {path} exists and is not a folder")
    ancestor = resolved
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise HarnessError(f"run store {path}: {ancestor} is a file, not a folder")
    if create:
        try:
            resolved.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HarnessError(f"cannot create run store {path}: {exc.strerror or exc}") from None
        if not os.access(resolved, os.W_OK | os.X_OK):
            raise HarnessError(f"run store {path} is not writable")
    return path


def _broken_link(path: Path) -> tuple[Path, str] | None:
    """A symbolic link on the way to `path` that leads nowhere, and what is wrong with it; None if none."""
    for link in (path, *path.parents):
        if not link.is_symlink():
            continue
        try:
            link.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return link, "is a symbolic link loop"
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return link, f"is a symbolic link to {os.readlink(link)}, which does not exist"
            raise HarnessError(f"run store {path}: cannot follow the symbolic link {link}: {exc.strerror}") from None
    return None


_REPORTED: set[str] = set()  # damaged stages already reported by this process


_READ_ONLY_NOTED: set[str] = set()  # read-only stores already named by this process


def _note_read_only(exc: ReadOnlyStore) -> None:
    if str(exc.root) not in _READ_ONLY_NOTED:
        _READ_ONLY_NOTED.add(str(exc.root))
        from harness.console import log

        log(f"{exc}: finished stages are reused without a lock; none can be computed")


class Stage:
    """One stage output: its key, its final folder and its work-in-progress folder."""

    def __init__(self, root: Path, kind: str, inputs: dict[str, Any], label: str = "", verify: bool = False) -> None:
        check_name(kind, "stage kind")
        if label:
            check_name(label, f"{kind} stage name")
        self.root = Path(root)
        self.kind = kind
        self.inputs = canonical(inputs)
        self.key = hash_key(self.inputs)
        self.name = f"{label}-{self.key}" if label else self.key
        self.path = self.root / kind / self.name
        self.work = self.root / kind / f"{self.name}.partial"
        self.verify = verify
        self._begun = 0  # lock acquisitions made by begin() and not yet released by commit()

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    # ----------------------------------------------------------------- state

    def problem(self, verify: bool | None = None) -> str | None:
        """Why the published folder cannot be reused; None when it can or when there is none."""
        if not self.path.is_dir():
            return None if not self.path.exists() else "it is not a folder"
        return check_folder(self.path, self.key, self.verify if verify is None else verify,
                            small_file=SMALL_FILE)

    @property
    def done(self) -> bool:
        """Published, and its manifest and files check out (sizes, small files' hashes; all with verify)."""
        return self.path.is_dir() and self.problem() is None

    def status(self) -> str:
        """done | damaged: <why> | partial (resumes) | todo, for `--dry-run` tables."""
        if self.path.exists():
            problem = self.problem()
            return "done" if problem is None else f"damaged (recomputes): {problem}"
        return "partial (resumes)" if self.work.is_dir() else "todo"

    def report_damage(self) -> bool:
        """Log once per process, in one line, that the published folder is damaged; True if it is."""
        problem = self.problem() if self.path.exists() else None
        if problem is None:
            return False
        if str(self.path) not in _REPORTED:
            _REPORTED.add(str(self.path))
            from harness.console import log

            log(f"damaged {self.kind} {self.name}: {problem}; recomputing it")
        return True

    # ----------------------------------------------------------------- locking

    @property
    def lock_path(self) -> Path:
        return self.root / LOCKS / self.kind / f"{self.name}.lock"

    def _acquire(self) -> None:
        acquire(self.lock_path, str(self), self.root)

    def _release(self) -> None:
        release(self.lock_path)

    @contextmanager
    def lock(self) -> Iterator["Stage"]:
        """Hold this stage's lock: check, compute and publish it as the only process doing so.

        Re-entrant within a process. A `begin()` inside that raised before `commit()` (on
        this or another Stage object of the same folder) is released here too, so a failed
        stage never keeps other processes waiting, and its partial folder is removed when it
        holds nothing to resume from (`discard_empty_work`).

        In a store this process cannot write (`ReadOnlyStore`) there is no lock to take: the
        block runs without one, so a finished stage is read as it is, and `begin()` refuses to
        compute one. A process that writes nothing cannot corrupt the store, and a published
        folder only ever changes by one rename, so what it reads is whole.
        """
        try:
            self._acquire()
        except ReadOnlyStore as exc:
            _note_read_only(exc)
            yield self
            return
        level = held(self.lock_path) - 1  # held by this process before this block
        try:
            yield self
        except BaseException:
            self.discard_empty_work()
            raise
        finally:
            self._begun = 0
            while held(self.lock_path) > level:
                self._release()

    # ----------------------------------------------------------------- writing

    def begin(self, force: bool = False) -> Path:
        """Lock the stage and return its work folder, keeping earlier partial work unless `force`.

        A published folder stays in place (readers keep seeing it) until `commit()` replaces it.
        """
        try:
            self._acquire()
        except ReadOnlyStore as exc:
            raise HarnessError(f"{self} must be computed, but {exc}; give a writable --store") from None
        self._begun += 1
        self.report_damage()
        try:
            if force:
                shutil.rmtree(self.work, ignore_errors=True)
            self.work.mkdir(parents=True, exist_ok=True)
            (self.work / MANIFEST).unlink(missing_ok=True)  # left by a publish that was interrupted
            write_json(self.work / INPUTS, self.inputs)
        except OSError as exc:
            self.abandon()
            raise write_failed(self.work, exc) from None
        return self.work

    def commit(self, manifest: dict[str, Any]) -> Path:
        """List and hash every file, write the manifest last, then publish the folder under its final name."""
        if not self.work.is_dir():
            raise HarnessError(f"{self}: its work folder {self.work} disappeared before it was published")
        files = list_files(self.work)
        write_json(self.work / MANIFEST, {"stage": self.kind, "key": self.key, "store_schema": STORE_SCHEMA,
                                          "inputs": self.inputs, **manifest, "files": files})
        publish(self.work, self.path)
        _REPORTED.discard(str(self.path))
        if self._begun:
            self._begun -= 1
            self._release()
        return self.path

    def discard_empty_work(self) -> None:
        """Remove the partial folder if it holds nothing to resume from (no file but inputs.json, or empty ones).

        Called, holding the lock, when an attempt fails: a folder with generations or
        checkpoints stays so that the next attempt resumes; an empty one would only be clutter.
        """
        if not self.work.is_dir():
            return
        ours = (INPUTS, MANIFEST)
        for path in self.work.rglob("*"):
            if path.relative_to(self.work).as_posix() not in ours and path.is_file() and path.stat().st_size:
                return
        shutil.rmtree(self.work, ignore_errors=True)

    def abandon(self) -> None:
        """Release the lock taken by `begin()` without publishing (the partial folder stays)."""
        if self._begun:
            self._begun -= 1
            self._release()

    def manifest(self) -> dict[str, Any]:
        return read_json(self.path / MANIFEST)


class RunStore:
    """The store root; `stage()` names a stage output by the hash of its inputs.

    `verify` (default: `$HARNESS_VERIFY`, set by `--verify`) hashes every file of a stage
    before reusing it, not only the small ones.
    """

    def __init__(self, root: str | Path | None = None, verify: bool | None = None) -> None:
        self.root = check_root(Path(root) if root is not None else default_root())
        self.verify = bool(os.environ.get(VERIFY_ENV)) if verify is None else verify

    def stage(self, kind: str, inputs: dict[str, Any], label: str = "") -> Stage:
        return Stage(self.root, kind, inputs, label, verify=self.verify)

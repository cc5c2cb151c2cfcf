"""Content-addressed run store, one folder per stage output.

Each stage output lives at `<root>/<stage>/<label>-<key>/`, where the key hashes exactly the
inputs and settings that affect it (upstream keys included, so the chain is a Merkle
chain). Work happens in `<name>.partial/`, which survives a kill so that resumable stages
(generation, training) can pick up where they stopped; only `commit()` publishes it under
the final name.

Three guarantees, so that concurrent runs, damage and hand edits cannot corrupt a result:

* One process at a time computes a stage: `Stage.lock()` holds a file lock
  (`<root>/.locks/<stage>/<name>.lock`, `filelock`) for the whole check-compute-publish
  sequence, and `begin()` takes it too. A second process waits (saying so) and then finds
  the stage done and reuses it. The lock dies with its process, so a killed run never
  leaves a stale one.
* Publishing never exposes a partial folder: the final name appears by one rename, and a
  recomputed stage replaces the old folder by an atomic exchange (Linux `renameat2`), so
  the final name never disappears or shows a half-written folder.
* The manifest, written last, lists every file of the stage with its size and sha256 and
  records the key and inputs. A folder is reused only when its manifest parses, names this
  key, and every listed file is there with its size (and its hash, for files up to
  `SMALL_FILE` bytes always and for every file with `verify`). A damaged or edited folder
  is reported in one line naming the stage and recomputed in place (every stage is a
  deterministic function of its key's inputs, so recomputing is always safe).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import re
import shutil
import socket
import time
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Iterator

from harness.errors import HarnessError
from harness.jsonl import read_json, write_json

DEFAULT_STORE = Path.home() / ".cache" / "harness"
MANIFEST = "manifest.json"
INPUTS = "inputs.json"
STORE_SCHEMA = 2  # manifests with a file list; older folders are recomputed
SMALL_FILE = 8 << 20  # files up to this size are hashed on every reuse, larger ones with --verify
LOCKS = ".locks"
# Names that become folders: no separators, no leading dot, nothing a shell or a glob trips on.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# Folders no run store may live under (pseudo file systems: writes fail or do harm); /dev/shm is a RAM disk.
SYSTEM_ROOTS = ("/proc", "/sys", "/dev")
ALLOWED_UNDER_SYSTEM = ("/dev/shm",)
VERIFY_ENV = "HARNESS_VERIFY"
LOCK_TIMEOUT_ENV = "HARNESS_LOCK_TIMEOUT"
WAIT_LOG_S = 30.0


def default_root() -> Path:
    return Path(os.environ.get("HARNESS_STORE") or DEFAULT_STORE)


def canonical(obj: Any) -> Any:
    """A JSON-ready, order-independent form of dataclasses, paths, tuples and mappings."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return canonical(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def hash_key(inputs: Any, length: int = 16) -> str:
    blob = json.dumps(canonical(inputs), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


def check_name(name: str, what: str) -> str:
    """A name that becomes a store folder: letters, digits, `_` and `-`, at most 64 characters."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise HarnessError(f"{what} {name!r} cannot name a store folder (allowed: {SAFE_NAME.pattern})")
    return name


def check_root(root: str | Path, create: bool = False) -> Path:
    """A usable run-store root, or a one-line error: not a file, not a system folder, writable."""
    path = Path(root).expanduser()
    resolved = path.resolve()
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


# --------------------------------------------------------------------------- file hashes

def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_files(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file under `folder` except the manifest: relative path -> size and sha256."""
    out: dict[str, dict[str, Any]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if rel == MANIFEST or path.is_symlink():
                continue
            out[rel] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    return out


def check_folder(folder: Path, key: str, verify: bool = False) -> str | None:
    """Why a published stage folder cannot be reused, or None when it can."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return f"{MANIFEST} is missing"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{MANIFEST} is unreadable or malformed ({type(exc).__name__})"
    if not isinstance(manifest, dict):
        return f"{MANIFEST} is not a JSON object"
    if manifest.get("key") != key:
        return f"{MANIFEST} names key {manifest.get('key')!r}, not the folder's {key!r} (edited?)"
    if "inputs" not in manifest or hash_key(manifest["inputs"]) != key:
        return f"the inputs in {MANIFEST} do not hash to key {key!r} (edited?)"
    files = manifest.get("files")
    if manifest.get("store_schema", 1) < STORE_SCHEMA or not isinstance(files, dict):
        return f"{MANIFEST} has no file list (written by an older harness)"
    for rel, meta in sorted(files.items()):
        path = folder / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts or not isinstance(meta, dict):
            return f"{MANIFEST} lists a bad entry {rel!r}"
        if not path.is_file():
            return f"{rel} is missing"
        size = path.stat().st_size
        if size != meta.get("size"):
            return f"{rel} is {size} bytes, the manifest says {meta.get('size')}"
        if (verify or size <= SMALL_FILE) and file_sha256(path) != meta.get("sha256"):
            return f"{rel} does not match its sha256 in the manifest (changed after it was written)"
    return None


# --------------------------------------------------------------------------- publishing

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2: Any = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    global _renameat2
    if _renameat2 is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            _renameat2 = libc.renameat2
            _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        except (OSError, AttributeError):
            _renameat2 = False
    if not _renameat2:
        return False
    return _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def publish(work: Path, path: Path) -> None:
    """Make `work` visible as `path` in one step; an existing `path` is swapped out, then removed."""
    trash = path.with_name(f"{path.name}.trash-{os.getpid()}-{time.time_ns()}")
    if not path.exists():
        os.rename(work, path)
        return
    if _exchange(work, path):
        os.rename(work, trash)  # `work` now holds the old folder
    else:  # a file system without the exchange: the final name is missing for one rename
        os.rename(path, trash)
        os.rename(work, path)
    shutil.rmtree(trash, ignore_errors=True)


# --------------------------------------------------------------------------- locks

_LOCKS: dict[str, Any] = {}  # one FileLock per lock file and process: flock is per open file


def _file_lock(path: Path):
    from filelock import FileLock

    lock = _LOCKS.get(str(path))
    if lock is None:
        lock = _LOCKS[str(path)] = FileLock(str(path))
    return lock


def _lock_timeout() -> float | None:
    raw = os.environ.get(LOCK_TIMEOUT_ENV)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise HarnessError(f"{LOCK_TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
    return max(value, 0.0)


_REPORTED: set[str] = set()  # damaged stages already reported by this process


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
        return check_folder(self.path, self.key, self.verify if verify is None else verify)

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
        from filelock import Timeout

        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HarnessError(f"cannot write to the run store {self.root}: {exc.strerror or exc}") from None
        lock = _file_lock(self.lock_path)
        owner = self.lock_path.with_name(self.lock_path.name + ".owner")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            from harness.console import log

            limit = _lock_timeout()
            holder = _read_owner(owner)
            log(f"waiting for {self}: another process{holder} is computing it")
            started = time.monotonic()
            while True:
                waited = time.monotonic() - started
                if limit is not None and waited >= limit:
                    raise HarnessError(f"{self} is still being computed by another process{holder} after "
                                       f"{waited:.0f} s ({LOCK_TIMEOUT_ENV}={limit:g}); try again later") from None
                step = WAIT_LOG_S if limit is None else min(WAIT_LOG_S, limit - waited)
                try:
                    lock.acquire(timeout=max(step, 0.0))
                    break
                except Timeout:
                    log(f"still waiting for {self} ({time.monotonic() - started:.0f} s)")
            log(f"{self}: the other process finished")
        except OSError as exc:
            raise HarnessError(f"cannot lock {self.lock_path}: {exc.strerror or exc}") from None
        if lock.lock_counter == 1:
            try:
                owner.write_text(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}\n")
            except OSError:
                pass

    def _release(self) -> None:
        lock = _file_lock(self.lock_path)
        if lock.lock_counter == 0:
            return
        if lock.lock_counter == 1:
            self.lock_path.with_name(self.lock_path.name + ".owner").unlink(missing_ok=True)
        lock.release()

    @contextmanager
    def lock(self) -> Iterator["Stage"]:
        """Hold this stage's lock: check, compute and publish it as the only process doing so.

        Re-entrant within a process. A `begin()` inside that raised before `commit()` (on
        this or another Stage object of the same folder) is released here too, so a failed
        stage never keeps other processes waiting.
        """
        self._acquire()
        level = _file_lock(self.lock_path).lock_counter - 1  # held by this process before this block
        try:
            yield self
        finally:
            self._begun = 0
            while _file_lock(self.lock_path).lock_counter > level:
                self._release()

    # ----------------------------------------------------------------- writing

    def begin(self, force: bool = False) -> Path:
        """Lock the stage and return its work folder, keeping earlier partial work unless `force`.

        A published folder stays in place (readers keep seeing it) until `commit()` replaces it.
        """
        self._acquire()
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
            raise HarnessError(f"cannot write {self.work}: {exc.strerror or exc}") from None
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

    def abandon(self) -> None:
        """Release the lock taken by `begin()` without publishing (the partial folder stays)."""
        if self._begun:
            self._begun -= 1
            self._release()

    def manifest(self) -> dict[str, Any]:
        return read_json(self.path / MANIFEST)


def _read_owner(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""


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

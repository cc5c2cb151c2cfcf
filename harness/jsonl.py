"""JSONL reading and crash-safe appending.

Appends are written as whole lines in one call and flushed, so a kill leaves at most one
torn trailing line, which `read_jsonl(..., tolerate_torn_tail=True)` drops on resume.
Reading is strict JSON: `NaN` and `Infinity`, which Python's json accepts, are refused with
the file and line, so a gold answer can never be the float nan. A failed write (a full
disk) is one line naming the file.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


def iter_jsonl(path: str | Path, *, tolerate_torn_tail: bool = False) -> Iterator[dict[str, Any]]:
    """Yield one dict per line; a malformed line is a `HarnessError` naming file and line."""
    lines = _read_bytes(Path(path)).split(b"\n")
    # A file that does not end in a newline has a last line that may be torn by a kill.
    last = len(lines) - 1
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw, parse_constant=_refuse_constant)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            if tolerate_torn_tail and lineno - 1 == last:
                return
            raise HarnessError(f"{path}:{lineno}: malformed JSON ({exc.__class__.__name__})") from None
        except _NonStandard as exc:
            raise HarnessError(f"{path}:{lineno}: {exc} is not valid JSON (quote it if it is meant as text)") from None
        if not isinstance(record, dict):
            raise HarnessError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
        yield record


class _NonStandard(ValueError):
    """A `NaN`, `Infinity` or `-Infinity` literal: Python's json reads them, JSON has none."""


def _refuse_constant(name: str) -> Any:
    # A gold answer `NaN` would be read as a float and graded as the text "nan".
    raise _NonStandard(name)


def _read_bytes(path: Path) -> bytes:
    """A file's bytes; a folder, a missing or an unreadable file is a one-line `HarnessError`."""
    if path.is_dir():
        raise HarnessError(f"{path} is a folder, not a file")
    if not path.is_file():
        raise HarnessError(f"file not found: {path}")
    try:
        return path.read_bytes()
    except OSError as exc:  # permissions, or an I/O error on a file that exists
        raise HarnessError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_jsonl(path: str | Path, *, tolerate_torn_tail: bool = False) -> list[dict[str, Any]]:
    return list(iter_jsonl(path, tolerate_torn_tail=tolerate_torn_tail))


# A full disk or quota, wherever a write hits it: the harness's own writes and a library's saves.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def write_failed(path: str | Path | None, exc: OSError) -> HarnessError:
    """The one line for a failed write: the file, the system's reason, and what to do about a full disk."""
    line = f"cannot write {path or 'a file'}: {exc.strerror or exc}"
    if exc.errno in DISK_FULL:
        line += "; free some space and run again (finished stages and resumable work are kept)"
    return HarnessError(line)


def check_output_file(path: str | Path, what: str = "output") -> Path:
    """Refuse, before any work, an output path that cannot take a file (a folder, or under a file)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise HarnessError(f"{what} {path} is a folder; give a file path")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise HarnessError(f"{what} {path}: {ancestor} is a file, not a folder")
    return path


def _write_atomically(path: Path, write, sync: bool = True, mode: str = "w") -> None:
    """Write through a temporary sibling renamed into place; any failure is one line and leaves no temporary."""
    if path.is_dir():
        raise HarnessError(f"cannot write {path}: it is a folder")
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open(mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as fh:
            write(fh)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise write_failed(path, exc) from None


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Write a whole file atomically: a temporary sibling, then rename."""

    def write(fh) -> None:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    _write_atomically(Path(path), write)


def append_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Append records in one write and flush, so a batch lands whole or (almost) not at all.

    A failed write (a full disk) is one line naming the file; what was appended before stays,
    and a torn last line is cut by the next append, so the work resumes once there is room.
    """
    path = Path(path)
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if not payload:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        repair_torn_tail(path)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise write_failed(path, exc) from None


def repair_torn_tail(path: str | Path) -> None:
    """Cut a trailing partial line left by a kill, so the next append starts on a fresh line."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        fh.truncate(cut)


def write_json(path: str | Path, obj: Any) -> None:
    """Write one JSON document atomically; gzip-compressed when the name ends in `.gz`.

    Compressed files carry no timestamp (mtime 0), so the same document gives the same bytes.
    """
    path = Path(path)
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    if path.name.endswith(".gz"):
        data = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
        _write_atomically(path, lambda fh: fh.write(data), sync=False, mode="wb")
    else:
        _write_atomically(path, lambda fh: fh.write(text), sync=False)


def read_json(path: str | Path) -> Any:
    path = Path(path)
    data = _read_bytes(path)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None

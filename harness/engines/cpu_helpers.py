"""Data-parallel decoding on CPU: helper processes decode a share of each call's rows.

A small model's decoding step is half Python and dispatch overhead, which one process
cannot spread over cores: on the 2-core machine, the synthetic students decode 1.4x
faster as two single-threaded processes than as one on two threads. Rows are independent
(each draws from its own seeded stream, and its numbers depend neither on the rows beside
it nor on the thread count), so the split leaves every sample as it was; the tests and
`bench/decoding.py` check that.

Helpers are forked once per engine from the process that holds the model, so they start
in milliseconds and share its weights copy-on-write. A helper whose parent dies is ended by
the kernel (Linux), or sees its pipe close and exits, without a word: a killed run prints
no tracebacks from its helpers.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import warnings
from contextlib import contextmanager
from typing import Any

import torch

from harness.errors import HarnessError


class DecodeHelpers:
    """`count` forked processes, each decoding the rows it is sent with one thread."""

    def __init__(self, model, tokenizer, device: str, count: int) -> None:
        # The parent may have tokenized in parallel already; the helpers must not inherit
        # that thread pool (the tokenizers library warns and disables it after a fork).
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        ctx = multiprocessing.get_context("fork")
        self._conns, self._procs = [], []
        for _ in range(count):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(theirs, mine, model, tokenizer, device, os.getpid()), daemon=True)
            proc.start()
            theirs.close()
            self._conns.append(mine)
            self._procs.append(proc)

    def __len__(self) -> int:
        return len(self._procs)

    def submit(self, shards: list[list], *args: Any) -> None:
        for conn, shard in zip(self._conns, shards):
            try:
                conn.send((shard, args))
            except OSError:
                raise _died() from None

    def results(self) -> list[tuple[object, list[int]]]:
        out: list[tuple[object, list[int]]] = []
        for conn in self._conns:
            try:
                status, payload = conn.recv()
            except (EOFError, OSError):
                raise _died() from None
            if status != "ok":
                raise HarnessError(f"decoding helper failed: {payload}")
            out += payload
        return out

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(None)
                conn.close()
            except OSError:
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        self._conns, self._procs = [], []


def _died() -> HarnessError:
    return HarnessError("a decoding helper process died (out of memory?); set engine.cpu_processes=1 "
                        "to decode in one process")


def _serve(conn, parent_end, model, tokenizer, device: str, parent: int) -> None:
    from harness.engines.decoding import decode

    parent_end.close()  # else this process holds the parent's end open and never sees it close
    end_with_parent(parent)
    # Forked from a process with threads (progress display, grader pool): write nothing, so
    # no lock another thread held at the fork is ever needed here.
    warnings.simplefilter("ignore")
    # Ctrl-C reaches every process of the terminal's group: the parent says "interrupted",
    # a helper just ends (Python's default would print its traceback).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    torch.set_num_threads(1)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        work, (sampling, stop_ids, batch_size) = message
        try:
            reply = ("ok", list(decode(model, tokenizer, work, sampling, stop_ids, batch_size, device)))
        except Exception as exc:  # sent back and raised in the parent, which names it
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except OSError:  # the parent is gone (killed): there is no one to answer, and nothing to say
            return


_PR_SET_PDEATHSIG = 1


def end_with_parent(parent: int) -> None:
    """Have Linux end this helper when the process that forked it dies.

    A killed run must not leave helpers decoding their share for no one (minutes of CPU);
    elsewhere a helper ends at its next send or receive instead. Strictly, Linux watches the
    thread that forked the helper: helpers are made by the thread that decodes, which lives
    as long as the engine is used.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the call above
        os._exit(0)


@contextmanager
def one_thread():
    """This process decodes its share on one thread while the helpers use the others."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)

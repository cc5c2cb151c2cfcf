"""Data parallelism for vLLM: one engine per group of GPUs, each call's samples split between them.

vLLM's `LLM(data_parallel_size=N)` does not serve offline use in one process (recent
versions refuse it, older ones could hang; vLLM's own example starts one process per rank),
and its data-parallel ranks step in lockstep, which only expert-parallel models need. For a
dense model independent engines are simpler and sturdier: replica k is a spawned process
that sees only its `tensor_parallel_size` GPUs (CUDA_VISIBLE_DEVICES) and builds there the
engine `data_parallel_size=1` would build.

A call's samples are cut into `data_parallel_size` contiguous, near-equal shares (a prompt's
samples mostly stay on one replica, where vLLM's prefix cache shares their prompt). Each
sample keeps its own seed (seed, seed_key, j) whichever replica draws it, and the results
are put back in request order, so the split chooses no sample.

Replicas are spawned processes, which import the parent's main script again: a script that
builds this engine must guard its entry point with `if __name__ == "__main__":`, as vLLM's own
worker processes require (the `harness` commands do).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from dataclasses import replace
from multiprocessing.util import Finalize
from typing import Any

from harness.config import EngineConfig, SamplingConfig
from harness.engines.base import Completion, GenerationRequest, check_context
from harness.errors import HarnessError

# Seconds a replica gets to shut its engine down before it is killed.
_STOP_GRACE = 60

# Where each of a share's requests came from: (request index, positions in its sample_indices).
Slots = list[tuple[int, list[int]]]


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (indices or UUIDs)."""
    names = os.environ.get("CUDA_VISIBLE_DEVICES")
    if names is not None:
        return [name.strip() for name in names.split(",") if name.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def gpu_groups(replicas: int, per_replica: int) -> list[str]:
    """CUDA_VISIBLE_DEVICES for each replica: disjoint groups of `per_replica` visible GPUs."""
    gpus = visible_gpus()
    problem = too_few_gpus(replicas, per_replica, len(gpus))
    if problem:
        raise HarnessError(problem)
    return [",".join(gpus[k * per_replica:(k + 1) * per_replica]) for k in range(replicas)]


def too_few_gpus(replicas: int, per_replica: int, visible: int) -> str | None:
    """Why `replicas` x `per_replica` GPUs cannot be had from `visible` ones, or None."""
    need = replicas * per_replica
    if need <= visible:
        return None
    if replicas == 1:
        return (f"engine.tensor_parallel_size={per_replica} but {visible} GPU{' is' if visible == 1 else 's are'} "
                f"visible; set --set engine.tensor_parallel_size={visible}")
    return (f"engine.data_parallel_size={replicas} x engine.tensor_parallel_size={per_replica} needs {need} GPUs "
            f"but {visible} {'is' if visible == 1 else 'are'} visible; "
            f"set --set engine.data_parallel_size={max(1, visible // per_replica)}")


def split(requests: list[GenerationRequest], greedy: bool, parts: int) -> list[tuple[list[GenerationRequest], Slots]]:
    """`parts` shares of the requests' samples, contiguous and near-equal in size.

    A greedy request is one unit (an engine draws it once for all its samples); otherwise
    each sample is a unit. A request whose units fall in two shares is sent to both, each
    with its own sample indices.
    """
    units: Slots = []
    for r, req in enumerate(requests):
        positions = list(range(len(req.sample_indices)))
        if not greedy:
            units += [(r, [pos]) for pos in positions]
        elif positions:
            units.append((r, positions))
    size, extra = divmod(len(units), parts)
    shares, start = [], 0
    for k in range(parts):
        end = start + size + (k < extra)
        slots: Slots = []
        for r, positions in units[start:end]:
            if slots and slots[-1][0] == r:
                slots[-1][1].extend(positions)
            else:
                slots.append((r, list(positions)))
        shares.append(([GenerationRequest(requests[r].prompt, requests[r].seed_key,
                                          [requests[r].sample_indices[p] for p in positions])
                        for r, positions in slots], slots))
        start = end
    return shares


class ReplicatedEngine:
    """`cfg.data_parallel_size` copies of engine `name`, each in its own process on its own GPUs."""

    def __init__(self, model: str, cfg: EngineConfig, name: str) -> None:
        from transformers import AutoTokenizer

        from harness.registries import ENGINES

        self.name, self.model_id, self.cfg = name, model, cfg
        groups = gpu_groups(cfg.data_parallel_size, cfg.tensor_parallel_size)
        # The runner stores results after each call: one call keeps every replica busy.
        self.chunk_size = int(getattr(ENGINES.get(name), "chunk_size", 64)) * len(groups)
        try:  # prompts are rendered and counted here; each replica's engine loads its own copy
            self._tokenizer = AutoTokenizer.from_pretrained(model)
        except OSError as exc:
            raise HarnessError(f"cannot load the tokenizer of {model!r}: {str(exc).splitlines()[0]}") from None
        one = replace(cfg, data_parallel_size=1)
        ctx = multiprocessing.get_context("spawn")  # a forked child would inherit CUDA state
        self._conns, self._procs, self._gpus = [], [], groups
        # Replicas cannot be daemons (vLLM starts processes of its own), so multiprocessing would
        # wait for them at exit: stop them first, whether or not the engine was closed.
        self._finalizer = Finalize(self, _stop, args=(self._conns, self._procs), exitpriority=10)
        for gpus in groups:
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(theirs, model, one, name, gpus, os.getpid()),
                               name=f"harness-replica-{gpus}")
            proc.start()
            theirs.close()
            self._conns.append(mine)
            self._procs.append(proc)
        try:
            self.max_context = self._gather(list(range(len(groups))), starting=True)[0]
        except BaseException:
            self.close()
            raise

    @property
    def tokenizer(self):
        return self._tokenizer

    def close(self) -> None:
        """Stop every replica (each closes its engine); memory goes back with the processes."""
        self._finalizer()

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[list[Completion]]:
        lengths = [len(ids) for ids in self._tokenizer([q.prompt for q in requests], add_special_tokens=False)["input_ids"]]
        check_context(requests, lengths, sampling.max_new_tokens, self.max_context, self.model_id)
        shares = split(requests, sampling.temperature <= 0, len(self._conns))
        busy = [k for k, (share, _) in enumerate(shares) if share]
        for k in busy:
            self._send(k, (shares[k][0], sampling))
        out: list[list[Any]] = [[None] * len(req.sample_indices) for req in requests]
        for k, completions in zip(busy, self._gather(busy)):
            for (r, positions), got in zip(shares[k][1], completions):
                for pos, completion in zip(positions, got):
                    out[r][pos] = completion
        return out

    def _send(self, k: int, message: Any) -> None:
        try:
            self._conns[k].send(message)
        except OSError:
            raise self._died(k) from None

    def _gather(self, replicas: list[int], starting: bool = False) -> list[Any]:
        """Each replica's answer; every one is read before a failure is raised, so none is left unread."""
        answers, failure = [], None
        for k in replicas:
            try:
                status, payload = self._conns[k].recv()
            except (EOFError, OSError):
                raise self._died(k, starting) from None
            if status == "ok":
                answers.append(payload)
            elif failure is None:
                failure = HarnessError(payload) if status == "user" else RuntimeError(
                    f"engine replica on GPUs {self._gpus[k]} failed:\n{payload}")
        if failure is not None:
            raise failure
        return answers

    def _died(self, k: int, starting: bool = False) -> HarnessError:
        self.close()
        # A spawned process imports the parent's main script again: unguarded, it fails at once.
        why = ("a script that loads engines needs an `if __name__ == \"__main__\":` guard" if starting
               else "out of memory?")
        return HarnessError(f"the {self.name} engine replica on GPUs {self._gpus[k]} died ({why}); "
                            f"see its log above, or set engine.data_parallel_size=1")


def _stop(conns: list, procs: list) -> None:
    for conn in conns:
        try:
            conn.send(None)
            conn.close()
        except OSError:
            pass
    for proc in procs:
        proc.join(timeout=_STOP_GRACE)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _serve(conn, model: str, cfg: EngineConfig, name: str, gpus: str, parent: int) -> None:
    """A replica: build the engine on `gpus`, then answer generate calls until told to stop."""
    os.environ["CUDA_VISIBLE_DEVICES"] = gpus  # before anything initialises CUDA
    from harness.engines.cpu_helpers import end_with_parent
    from harness.registries import ENGINES

    end_with_parent(parent)
    # Ctrl-C reaches the whole process group: the parent reports it, a replica just ends.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        engine = ENGINES.get(name)(model, cfg)
        conn.send(("ok", engine.max_context))
    except Exception as exc:  # noqa: BLE001  (sent to the parent, which raises it)
        conn.send(_failure(exc))
        return
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the parent is gone
                return
            if message is None:
                return
            requests, sampling = message
            try:
                reply = ("ok", engine.generate(requests, sampling))
            except Exception as exc:  # noqa: BLE001  (sent to the parent, which raises it)
                reply = _failure(exc)
            try:
                conn.send(reply)
            except OSError:
                return
    finally:
        close = getattr(engine, "close", None)
        if close is not None:
            close()


def _failure(exc: Exception) -> tuple[str, str]:
    """A user error travels as its one line; anything else as its traceback (a bug to see)."""
    if isinstance(exc, HarnessError):
        return "user", str(exc)
    return "bug", traceback.format_exc()

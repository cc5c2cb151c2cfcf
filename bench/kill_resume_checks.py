"""The three commands `kill_resume.py` kills, and what each must leave on disk.

A scenario gives the command line for one trial folder, describes what a kill left behind
(and checks that nothing under a final, non-`.partial` name is incomplete), collects the
finished run's outputs while counting stored records by key, and compares them with the
uninterrupted reference run.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

# What "the same" means for training: see TrainScenario.compare.
LOSS_TOLERANCE = 1e-6
WEIGHT_TOLERANCE = 1e-6


def _lines(path: Path) -> tuple[list[dict], bool, int]:
    """(records, whether the file ends in a torn line, count of malformed lines before the end)."""
    if not path.is_file():
        return [], False, 0
    raw = path.read_bytes()
    parts = raw.split(b"\n")
    torn = bool(parts[-1].strip())
    records, bad = [], 0
    for i, line in enumerate(parts):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            if i != len(parts) - 1:
                bad += 1
    return records, torn, bad


def count_keys(path: Path, expected: set[tuple[str, int]], what: str, key_field: str | None = None) -> list[str]:
    """Every expected (id, sample) exactly once per configuration key, nothing else, no torn line."""
    records, torn, bad = _lines(path)
    problems = []
    if torn or bad:
        problems.append(f"{what}: {'a torn last line' if torn else ''}{' and ' if torn and bad else ''}"
                        f"{f'{bad} malformed lines' if bad else ''} after completion")
    counts = Counter(((r.get(key_field) if key_field else None), r.get("id"), r.get("sample")) for r in records)
    keys = {k for k, _, _ in counts}
    if len(keys) > 1:
        problems.append(f"{what}: records under {len(keys)} configuration keys")
    dup = sum(c - 1 for c in counts.values() if c > 1)
    if dup:
        problems.append(f"{what}: {dup} duplicated records")
    have = {(i, s) for _, i, s in counts}
    if have - expected:
        problems.append(f"{what}: {len(have - expected)} unexpected records")
    if expected - have:
        problems.append(f"{what}: {len(expected - have)} records lost")
    return problems


def _stages(store: Path, kind: str) -> list[Path]:
    return sorted(p for p in (store / kind).glob("*") if p.is_dir()) if (store / kind).is_dir() else []


class Scenario:
    name = ""

    def __init__(self, model: Path) -> None:
        self.model = model

    def prepare(self, root: Path) -> None:
        """Inputs the command reads (written before the clock starts)."""

    def argv(self, root: Path) -> list[str]:
        raise NotImplementedError

    def snapshot(self, root: Path, reference: dict) -> tuple[str, list[str]]:
        raise NotImplementedError

    def collect(self, root: Path) -> tuple[dict, list[str]]:
        raise NotImplementedError

    def compare(self, ref: dict, got: dict) -> list[str]:
        return [f"{k} differs from the reference" for k in ref if ref[k] != got.get(k)]

    def describe(self, ref: dict) -> str:
        return ""

    def extra_summary(self) -> dict:
        return {}


class _StageScenario(Scenario):
    """A command whose output is one run-store stage with a per-(id, sample) generations file."""

    kind = ""
    done_files: tuple[str, ...] = ()
    key_field: str | None = None

    def snapshot(self, root: Path, reference: dict) -> tuple[str, list[str]]:
        stages = _stages(root / "store", self.kind)
        if not stages:
            return "nothing", []
        parts, problems = [], []
        total = len(reference["texts"])
        for st in stages:
            partial = st.name.endswith(".partial")
            records, torn, _ = _lines(st / "generations.jsonl")
            extra = "".join(f" {f.split('.')[0]}=" + str(len(_lines(st / f)[0])) for f in self.extra_files if (st / f).exists())
            parts.append(f"{self.kind}{'.partial' if partial else ''} gen={len(records)}/{total}{' torn' if torn else ''}{extra}")
            if not partial:  # a final name must mean a complete stage
                missing = [f for f in ("manifest.json", *self.done_files) if not (st / f).is_file()]
                if missing:
                    problems.append(f"{st.name} has its final name at the kill but lacks {', '.join(missing)}")
        return "; ".join(parts), problems

    extra_files: tuple[str, ...] = ()

    def _stage(self, root: Path) -> tuple[Path | None, list[str]]:
        stages = _stages(root / "store", self.kind)
        done = [s for s in stages if not s.name.endswith(".partial")]
        problems = [f"{s.name} left behind after completion" for s in stages if s.name.endswith(".partial")]
        if len(done) != 1:
            return None, problems + [f"{len(done)} completed {self.kind} stages (expected 1)"]
        if not (done[0] / "manifest.json").is_file():
            problems.append(f"{done[0].name} has no manifest.json")
        return done[0], problems

    @staticmethod
    def _texts(stage: Path) -> dict[str, str]:
        records, _, _ = _lines(stage / "generations.jsonl")
        return {f"{r['id']}/{r['sample']}": r["text"] for r in records}


class EvalScenario(_StageScenario):
    """`harness eval`, sampled (temperature 0.7, n=4), 60 problems, one append per engine call of 16 rows."""

    name, kind = "eval", "eval"
    done_files = ("result.json", "generations.jsonl", "grades.jsonl")
    extra_files = ("grades.jsonl",)
    key_field = "key"
    limit, n = 60, 4  # enough engine calls that random kills land during generation, not only in start-up

    def argv(self, root: Path) -> list[str]:
        return ["eval", "--model", str(self.model), "--benchmarks", "synth_routine", "--limit", str(self.limit),
                "--n", str(self.n), "--k", "1,2", "--temperature", "0.7", "--top-p", "0.95", "--max-new-tokens", "48",
                "--engine", "transformers", "--batch-size", "4", "--seed", "0", "--grader-workers", "1",
                "--json", str(root / "out.json"), "--store", str(root / "store")]

    def collect(self, root: Path) -> tuple[dict, list[str]]:
        stage, problems = self._stage(root)
        if stage is None:
            return {}, problems
        from harness.config import EvalConfig
        from harness.eval.runner import load_problems

        result = json.loads((stage / "result.json").read_text())
        ids = [p.id for p in load_problems("synth_routine", EvalConfig(limit=self.limit))[0]]
        expected = {(i, j) for i in ids for j in range(self.n)}
        if {(s["id"], s["sample"]) for s in result["samples"]} != expected or len(result["samples"]) != len(expected):
            problems.append("result.json does not hold each expected sample once")
        problems += count_keys(stage / "generations.jsonl", expected, "generations.jsonl", "key")
        problems += count_keys(stage / "grades.jsonl", expected, "grades.jsonl", "key")
        out = json.loads((root / "out.json").read_text())["benchmarks"]["synth_routine"]
        return {"metrics": out["metrics"], "samples": out["samples"], "texts": self._texts(stage),
                "result": {k: v for k, v in result.items() if k != "generation"}}, problems

    def describe(self, ref: dict) -> str:
        outcomes = Counter(s["outcome"] for s in ref["samples"])
        return f"{len(ref['samples'])} samples, outcomes {dict(outcomes)}"


class TeacherScenario(_StageScenario):
    """`harness teacher --source model`: n=2 samples of 10 problems, 2 problems per engine call."""

    name, kind = "teacher", "teacher"
    done_files = ("traces.jsonl", "summary.json", "generations.jsonl")
    extra_files = ("traces.jsonl",)
    limit, n = 10, 2

    def argv(self, root: Path) -> list[str]:
        return ["teacher", "--source", "model", "--model", str(self.model), "--limit", str(self.limit), "--n", str(self.n),
                "--set", "teacher.sampling.max_new_tokens=64", "--set", "engine.name=transformers",
                "--set", "engine.batch_size=4", "--set", "eval.grader_workers=1",
                "--json", str(root / "out.json"), "--store", str(root / "store")]

    def collect(self, root: Path) -> tuple[dict, list[str]]:
        stage, problems = self._stage(root)
        if stage is None:
            return {}, problems
        from harness.config import resolve_run_config
        from harness.teacher.model_source import load_problems

        texts = self._texts(stage)
        cfg = resolve_run_config(None, None, [{"teacher": {"limit": self.limit, "n": self.n}}])
        expected = {(p["id"], j) for p in load_problems(cfg) for j in range(self.n)}
        problems += count_keys(stage / "generations.jsonl", expected, "generations.jsonl")
        traces, torn, bad = _lines(stage / "traces.jsonl")
        if torn or bad:
            problems.append("traces.jsonl is torn")
        ids = Counter(t["id"] for t in traces)
        if any(c > 1 for c in ids.values()):
            problems.append("traces.jsonl holds a problem twice")
        summary = json.loads((stage / "summary.json").read_text())
        return {"traces": traces, "texts": texts, "summary": summary, "stage": stage.name}, problems

    def describe(self, ref: dict) -> str:
        return f"{len(ref['texts'])} samples, {len(ref['traces'])} traces kept"


class TrainScenario(Scenario):
    """`harness train` on 64 SFT records, batch 2, 1 epoch = 32 steps, a checkpoint every 3 steps and at the end,
    logging every 5, so some resumes start inside a logging interval (enough steps that kills land in training,
    not only in start-up)."""

    name = "train"
    records, epochs, batch, save_steps, logging_steps = 64, 1, 2, 3, 5

    def __init__(self, model: Path) -> None:
        super().__init__(model)
        self.weight_diffs: list[float] = []
        self.loss_diffs: list[float] = []

    def prepare(self, root: Path) -> None:
        from harness.config import PAPER_INSTRUCTION, WorldConfig
        from harness.synth.teacher import synth_traces

        rows = [{"id": t["id"], "prompt": [{"role": "user", "content": f"{PAPER_INSTRUCTION}\n{t['problem']}"}],
                 "completion": [{"role": "assistant", "content": t["short_cot"]}]}
                for t in synth_traces(WorldConfig(), self.records)]
        (root / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    def argv(self, root: Path) -> list[str]:
        sets = dict(num_train_epochs=self.epochs, per_device_train_batch_size=self.batch, save_steps=self.save_steps,
                    logging_steps=self.logging_steps, max_length=256)
        return ["train", "--model", str(self.model), "--data", str(root / "sft.jsonl"), "--output-dir", str(root / "out"),
                "--store", str(root / "store"), *[a for k, v in sets.items() for a in ("--set", f"train.{k}={v}")]]

    def snapshot(self, root: Path, reference: dict) -> tuple[str, list[str]]:
        out = root / "out"
        if not out.exists():
            return "nothing", []
        ckpts = sorted((p for p in (out / "checkpoints").glob("checkpoint-*")), key=lambda p: int(p.name.split("-")[-1]))
        complete = [p.name.split("-")[-1] for p in ckpts if (p / "trainer_state.json").is_file()]
        torn = [p.name.split("-")[-1] for p in ckpts if not (p / "trainer_state.json").is_file()]
        text = f"checkpoints {','.join(complete) or '-'}"
        text += f" torn {','.join(torn)}" if torn else ""
        text += " +weights" if (out / "model.safetensors").is_file() else ""
        text += " +report" if (out / "train_report.json").is_file() else ""
        return text, []

    def collect(self, root: Path) -> tuple[dict, list[str]]:
        from safetensors.torch import load_file

        out, problems = root / "out", []
        if (out / "checkpoints").exists():
            problems.append("checkpoints left behind after completion")
        if not (out / "train_report.json").is_file() or not (out / "model.safetensors").is_file():
            return {}, problems + ["no report or weights after completion"]
        report = json.loads((out / "train_report.json").read_text())
        return {"report": report, "weights": load_file(str(out / "model.safetensors"))}, problems

    def compare(self, ref: dict, got: dict) -> list[str]:
        """Same report; losses and every weight within 1e-6. Bitwise equality is counted, not required:
        CPU kernels may reorder float sums. `runtime_s` and `resumed_from_step` differ by design."""
        if not got:
            return []
        problems = []
        r, g = ref["report"], got["report"]
        skip = {"runtime_s", "resumed_from_step", "initial_loss", "final_loss", "mean_train_loss"}
        for k in sorted(set(r) | set(g)):
            if k not in skip and r.get(k) != g.get(k):
                problems.append(f"report {k}: {r.get(k)!r} != {g.get(k)!r}")
        loss_diff = 0.0
        for k in ("initial_loss", "final_loss", "mean_train_loss"):
            a, b = r.get(k), g.get(k)
            if a is None or b is None:
                problems.append(f"report {k} missing")
                continue
            loss_diff = max(loss_diff, abs(a - b))
            if abs(a - b) > LOSS_TOLERANCE:
                problems.append(f"report {k}: reference {a!r}, resumed {b!r}")
        names = set(ref["weights"]) | set(got["weights"])
        if set(ref["weights"]) != set(got["weights"]):
            problems.append("different weight tensors")
        diff = max((float((ref["weights"][n].float() - got["weights"][n].float()).abs().max())
                    for n in names if n in ref["weights"] and n in got["weights"]), default=0.0)
        if diff > WEIGHT_TOLERANCE:
            problems.append(f"weights differ by up to {diff:.3g}")
        self.weight_diffs.append(diff)
        self.loss_diffs.append(loss_diff)
        return problems

    def describe(self, ref: dict) -> str:
        r = ref["report"]
        return f"{r['steps']} steps, loss {r['initial_loss']} -> {r['final_loss']}"

    def extra_summary(self) -> dict:
        return {"max_weight_diff": max(self.weight_diffs, default=0.0), "max_loss_diff": max(self.loss_diffs, default=0.0),
                "bitwise_identical_weights": sum(d == 0.0 for d in self.weight_diffs)}


SCENARIOS: dict[str, type[Scenario]] = {"eval": EvalScenario, "teacher": TeacherScenario, "train": TrainScenario}

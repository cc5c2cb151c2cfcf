"""The run store under concurrent runs, damage and hand edits (issue #14, acceptance 1 and 2).

Concurrency: two `harness run` (and two `harness eval`) processes at once on one store,
through `tests/fake_cli.py` (the real CLI, store, method stage, runner and grader; faked
teacher, trainer, benchmark evaluation or engine). Both finish, their results equal a single
run's, each heavy stage was computed once, and every stage folder in the store checks out.

Damage: each kind of damage the issue lists is detected, named in one line, and the stage
is recomputed on the next run (no `--force` needed); the run after that reuses it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.cli import main
from harness.store import LOCKS, MANIFEST, check_folder

from test_pipeline import Fakes, run

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def broken_stages(store: Path) -> list[str]:
    """Every stage folder that is partial, or that fails the store's full check (all hashes)."""
    bad = []
    for kind in sorted(p for p in store.iterdir() if p.is_dir() and p.name != LOCKS):
        for folder in sorted(kind.iterdir()):
            problem = "partial" if folder.name.endswith(".partial") else check_folder(folder, folder.name[-16:], True)
            if problem:
                bad.append(f"{kind.name}/{folder.name}: {problem}")
    return bad


def _env(tmp_path: Path, **extra: str) -> dict:
    env = dict(os.environ)
    env.pop("HARNESS_STORE", None)
    env.pop("HARNESS_VERIFY", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", FAKE_DELAY="1",
               FAKE_CALLS=str(tmp_path / "calls"), **extra)
    return env


def _spawn(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "fake_cli.py"), *args], env=env, cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(procs: list[subprocess.Popen]) -> list[tuple[str, str]]:
    """(stdout, stderr) of each process, once all have exited 0."""
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        outputs.append((out, err))
    return outputs


def _calls(folder: Path, pids: list[int]) -> list[dict]:
    return [json.loads((folder / f"{pid}.json").read_text()) for pid in pids]


def _without_times(record: dict) -> dict:
    """A result record without its manifest's timestamps (what differs between two stores)."""
    manifest = {k: v for k, v in record["manifest"].items() if k not in ("started", "finished")}
    return {**record, "manifest": manifest}


def test_two_runs_at_once_finish_with_a_single_runs_results(tmp_path, tiny_model_dir):
    env = _env(tmp_path, FAKE_STUDENT=str(tiny_model_dir))

    def args(store: str, out: str) -> list[str]:
        return ["run", "--store", str(tmp_path / store), "--method", "palign", "--set", "eval.benchmarks=fake_bench",
                "--json", str(tmp_path / out)]

    pair = [_spawn(args("store", f"r{i}.json"), env) for i in range(2)]
    single = _spawn(args("single", "single.json"), env)
    logs = _finish([*pair, single])
    first, second, alone = (json.loads((tmp_path / f).read_text()) for f in ("r0.json", "r1.json", "single.json"))
    assert first == second  # the later process reused the stored record
    assert _without_times(first) == _without_times(alone)
    assert broken_stages(tmp_path / "store") == []
    # Each heavy stage ran once in all: the other process waited for it and reused it.
    calls = _calls(tmp_path / "calls", [p.pid for p in pair])
    assert {k: sum(c[k] for c in calls) for k in ("teacher", "train", "eval")} == {"teacher": 1, "train": 1, "eval": 1}
    for stage in ("method", "train", "eval", "result"):  # the stages the real pipeline computes under its lock
        assert sum(err.count(f"computing {stage} ") for _, err in logs[:2]) == 1, stage
    assert any("waiting for" in err for _, err in logs[:2])
    for out, _ in logs:
        assert out.rstrip().splitlines()[-1].startswith("result record: ")


def test_two_evals_at_once_finish_with_a_single_evals_results(tmp_path, tiny_model_dir):
    env = _env(tmp_path)

    def args(store: str, out: str) -> list[str]:
        return ["eval", "--store", str(tmp_path / store), "--model", str(tiny_model_dir), "--benchmarks",
                "synth_routine,synth_target", "--limit", "24", "--grader-workers", "1", "--json", str(tmp_path / out)]

    pair = [_spawn(args("store", f"e{i}.json"), env) for i in range(2)]
    single = _spawn(args("single", "single.json"), env)
    _finish([*pair, single])
    first, second, alone = (json.loads((tmp_path / f).read_text()) for f in ("e0.json", "e1.json", "single.json"))
    assert first == second == alone
    assert broken_stages(tmp_path / "store") == []
    for folder in (tmp_path / "store" / "eval").iterdir():
        assert {"generations.jsonl", "grades.jsonl", "result.json", MANIFEST} <= {p.name for p in folder.iterdir()}
    generated = sum(c.get("generate", 0) for c in _calls(tmp_path / "calls", [p.pid for p in pair]))
    assert generated == _calls(tmp_path / "calls", [single.pid])[0]["generate"]  # nothing generated twice
    # A rerun reads the stored results back (no "file not found").
    again = subprocess.run([sys.executable, str(HERE / "fake_cli.py"), *args("store", "again.json")], env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "again.json").read_text()) == first


# --------------------------------------------------------------------------- damage and edits

def _stage(store: Path, kind: str) -> Path:
    (folder,) = [p for p in (store / kind).iterdir() if not p.name.endswith(".partial")]
    return folder


def _damage_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "damaged" in line]


def _first_run(tmp_path, monkeypatch, tiny_model_dir, capsys) -> tuple[Fakes, dict]:
    fakes = Fakes(monkeypatch, tiny_model_dir)
    assert run(tmp_path, "--method", "full_cot", "--json", str(tmp_path / "first.json")) == 0
    capsys.readouterr()
    return fakes, json.loads((tmp_path / "first.json").read_text())


def _rerun(tmp_path, capsys, *extra) -> tuple[str, dict]:
    assert run(tmp_path, "--method", "full_cot", "--json", str(tmp_path / "again.json"), *extra) == 0
    captured = capsys.readouterr()
    return captured.err + captured.out, json.loads((tmp_path / "again.json").read_text())


def test_cut_traces_are_detected_and_recomputed(tmp_path, monkeypatch, tiny_model_dir, capsys):
    fakes, first = _first_run(tmp_path, monkeypatch, tiny_model_dir, capsys)
    teacher = _stage(tmp_path / "store", "teacher")
    traces = (teacher / "traces.jsonl").read_text().splitlines(keepends=True)
    (teacher / "traces.jsonl").write_text("".join(traces[:1]))  # cut from 4 lines to 1
    log, record = _rerun(tmp_path, capsys)
    (line,) = _damage_lines(log)
    assert f"teacher {teacher.name}" in line and "traces.jsonl" in line
    assert fakes.calls["teacher"] == 2 and record["teacher_data"]["num_traces"] == 4
    assert record["training"]["examples"] == 4 and fakes.calls["train"] == 1  # trained on all 4, not retrained
    assert broken_stages(tmp_path / "store") == []
    log, _ = _rerun(tmp_path, capsys)
    assert not _damage_lines(log) and fakes.calls["teacher"] == 2


def test_edited_train_key_is_detected_by_dry_run_and_recomputed(tmp_path, monkeypatch, tiny_model_dir, capsys):
    fakes, first = _first_run(tmp_path, monkeypatch, tiny_model_dir, capsys)
    train = _stage(tmp_path / "store", "train")
    manifest = json.loads((train / MANIFEST).read_text())
    real_key = manifest["key"]
    manifest["key"] = "0123456789abcdef"
    (train / MANIFEST).write_text(json.dumps(manifest))
    assert run(tmp_path, "--method", "full_cot", "--student", str(tiny_model_dir), "--dry-run") == 0
    plan = capsys.readouterr().out
    assert "damaged (recomputes)" in plan and "0123456789abcdef" in plan
    log, record = _rerun(tmp_path, capsys)
    (line,) = _damage_lines(log)
    assert f"train {train.name}" in line
    assert fakes.calls["train"] == 2 and record["manifest"]["keys"]["train"] == real_key
    assert broken_stages(tmp_path / "store") == []


def test_deleted_weights_are_detected_and_recomputed(tmp_path, monkeypatch, tiny_model_dir, capsys):
    fakes, first = _first_run(tmp_path, monkeypatch, tiny_model_dir, capsys)
    train = _stage(tmp_path / "store", "train")
    (train / "model" / "model.safetensors").unlink()
    log, record = _rerun(tmp_path, capsys)
    (line,) = _damage_lines(log)
    assert f"train {train.name}" in line and "model/model.safetensors is missing" in line
    assert fakes.calls["train"] == 2 and (train / "model" / "model.safetensors").is_file()
    assert _without_times(record) == _without_times(first)
    log, _ = _rerun(tmp_path, capsys)
    assert not _damage_lines(log) and "reused train" in log and fakes.calls["train"] == 2


def test_malformed_manifest_is_detected_and_recomputed(tmp_path, monkeypatch, tiny_model_dir, capsys):
    fakes, first = _first_run(tmp_path, monkeypatch, tiny_model_dir, capsys)
    method = _stage(tmp_path / "store", "method")
    (method / MANIFEST).write_text('{"stage": "method", "key": ')
    log, record = _rerun(tmp_path, capsys)
    (line,) = _damage_lines(log)
    assert f"method {method.name}" in line and "malformed" in line
    assert _without_times(record) == _without_times(first)
    assert broken_stages(tmp_path / "store") == []


def test_large_file_changed_in_place_is_found_with_verify(tmp_path, monkeypatch, tiny_model_dir, capsys):
    """Sizes are always checked, contents of files past SMALL_FILE only with --verify."""
    monkeypatch.setattr("harness.store.SMALL_FILE", 16)
    monkeypatch.delenv("HARNESS_VERIFY", raising=False)
    fakes, first = _first_run(tmp_path, monkeypatch, tiny_model_dir, capsys)
    sft = _stage(tmp_path / "store", "method") / "sft.jsonl"
    data = bytearray(sft.read_bytes())
    data[10] = ord("X") if data[10] != ord("X") else ord("Y")
    sft.write_bytes(bytes(data))
    log, _ = _rerun(tmp_path, capsys)
    assert not _damage_lines(log) and "reused method" in log
    monkeypatch.setenv("HARNESS_VERIFY", "")  # restored after the test: --verify sets it for the process
    log, _ = _rerun(tmp_path, capsys, "--verify")
    (line,) = _damage_lines(log)
    assert "sft.jsonl does not match its sha256" in line


def test_deleted_eval_result_is_recomputed_by_harness_eval(tmp_path, monkeypatch, tiny_model_dir, capsys):
    from fake_cli import EchoEngine

    calls: dict = {}
    monkeypatch.setattr("harness.engines.load_engine", lambda model, cfg: EchoEngine(model, calls))
    args = ["eval", "--store", str(tmp_path / "store"), "--model", str(tiny_model_dir), "--benchmarks", "synth_routine",
            "--limit", "6", "--grader-workers", "1", "--json", str(tmp_path / "e.json")]
    assert main(args) == 0
    first = json.loads((tmp_path / "e.json").read_text())
    stage = _stage(tmp_path / "store", "eval")
    (stage / "result.json").unlink()
    capsys.readouterr()
    assert main(args) == 0
    (line,) = _damage_lines(capsys.readouterr().err)
    assert f"eval {stage.name}" in line and "result.json is missing" in line
    assert json.loads((tmp_path / "e.json").read_text()) == first
    assert main(args) == 0 and f"reused eval {stage.name.rsplit('-', 1)[1]}" in capsys.readouterr().err

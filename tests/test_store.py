import multiprocessing as mp
import os
import signal

from harness.config import parse_override, resolve_run_config
from harness.keys import eval_inputs, method_inputs, teacher_inputs, train_inputs
from harness.store import RunStore, hash_key


def _keys(cfg):
    teacher = hash_key(teacher_inputs(cfg, "world-key"))
    method = hash_key(method_inputs(cfg, teacher, "student", cfg.method.params))
    train = hash_key(train_inputs(cfg, method, "student"))
    ev = hash_key(eval_inputs(cfg, train, "synth_routine", "sum"))
    return {"teacher": teacher, "method": method, "train": train, "eval": ev}


def test_training_setting_changes_train_and_eval_keys_only():
    base = _keys(resolve_run_config())
    changed = _keys(resolve_run_config(overrides=[parse_override("train.learning_rate=0.123")]))
    assert changed["teacher"] == base["teacher"]
    assert changed["method"] == base["method"]
    assert changed["train"] != base["train"]
    assert changed["eval"] != base["eval"]


def test_eval_setting_changes_only_eval_key():
    base = _keys(resolve_run_config())
    for override in ("eval.sampling.max_new_tokens=77", "eval.instruction=Solve it.", "eval.grader_timeout=9"):
        changed = _keys(resolve_run_config(overrides=[parse_override(override)]))
        if override.startswith("eval.instruction"):
            # The instruction is also the training prompt, so the method stage depends on it too.
            assert changed["teacher"] == base["teacher"] and changed["eval"] != base["eval"]
            continue
        assert {k for k in base if base[k] != changed[k]} == {"eval"}, override


def test_performance_only_settings_change_no_key():
    base = _keys(resolve_run_config())
    changed = _keys(resolve_run_config(overrides=[parse_override("engine.batch_size=3"),
                                                   parse_override("eval.grader_workers=7")]))
    assert changed == base


def test_completed_stage_is_reused_and_partial_is_not(tmp_path):
    store = RunStore(tmp_path)
    stage = store.stage("teacher", {"a": 1})
    assert not stage.done
    work = stage.begin()
    (work / "traces.jsonl").write_text('{"id": 1}\n')
    assert not store.stage("teacher", {"a": 1}).done  # half-way: never mistaken for complete
    stage.commit({"note": "ok"})
    again = store.stage("teacher", {"a": 1})
    assert again.done and (again.path / "traces.jsonl").read_text() == '{"id": 1}\n'
    assert again.manifest()["inputs"] == {"a": 1}


def _write_forever(root):
    stage = RunStore(root).stage("eval", {"x": 1})
    work = stage.begin()
    with open(work / "gen.jsonl", "w") as fh:
        while True:
            fh.write('{"sample": 0}\n')
            fh.flush()


def test_killed_stage_leaves_no_complete_output(tmp_path):
    proc = mp.get_context("spawn").Process(target=_write_forever, args=(str(tmp_path),))
    proc.start()
    stage = RunStore(tmp_path).stage("eval", {"x": 1})
    while not (stage.work / "gen.jsonl").exists() or (stage.work / "gen.jsonl").stat().st_size < 1000:
        pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert stage.work.exists() and not stage.path.exists()
    assert not RunStore(tmp_path).stage("eval", {"x": 1}).done
    # --force starts over from nothing.
    assert not any(stage.begin(force=True).glob("gen.jsonl"))


def test_force_replaces_completed_output(tmp_path):
    stage = RunStore(tmp_path).stage("train", {"lr": 1})
    (stage.begin() / "old").write_text("old")
    stage.commit({})
    work = stage.begin(force=True)
    assert not stage.done
    (work / "new").write_text("new")
    stage.commit({})
    assert (stage.path / "new").exists() and not (stage.path / "old").exists()


def test_teacher_key_follows_local_file_content_not_its_path(tmp_path):
    from harness.teacher.stage import teacher_stage

    data = tmp_path / "a" / "s1k.jsonl"
    data.parent.mkdir()
    data.write_text('{"question": "1+1?"}\n')
    cfg = resolve_run_config(overrides=[parse_override("teacher.source=s1k"), parse_override(f"teacher.dataset={data}")])
    store = RunStore(tmp_path / "store")
    first = teacher_stage(cfg, store).key
    moved = tmp_path / "b.jsonl"
    moved.write_text(data.read_text())
    cfg_moved = resolve_run_config(overrides=[parse_override("teacher.source=s1k"), parse_override(f"teacher.dataset={moved}")])
    assert teacher_stage(cfg_moved, store).key == first
    data.write_text('{"question": "2+2?"}\n')
    assert teacher_stage(cfg, store).key != first

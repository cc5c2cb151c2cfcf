import multiprocessing as mp
import os
import signal

from harness.store import RunStore


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
    # The old output stays published (readers never see the folder vanish) until the new one replaces it.
    assert stage.done and not (work / "old").exists()
    (work / "new").write_text("new")
    stage.commit({})
    assert (stage.path / "new").exists() and not (stage.path / "old").exists()
    assert not stage.work.exists() and [p.name for p in stage.path.parent.iterdir()] == [stage.path.name]


# --------------------------------------------------------------------------- issue #14: locks, checks, names

import json
import subprocess
import sys
import textwrap

import pytest

from harness.errors import HarnessError
from harness.store import MANIFEST, Stage, check_folder, check_root, publish


def _hold_lock(root, seconds):
    """A process that holds the stage {"x": 1}'s lock for `seconds`, then publishes it."""
    code = textwrap.dedent(f"""
        import sys, time
        from harness.store import RunStore
        stage = RunStore({str(root)!r}).stage("eval", {{"x": 1}})
        with stage.lock():
            work = stage.begin()
            print("locked", flush=True)
            time.sleep({seconds})
            (work / "out.txt").write_text("made by the holder")
            stage.commit({{}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_process_waits_for_the_lock_then_reuses(tmp_path, capsys):
    holder = _hold_lock(tmp_path, 1.5)
    stage = RunStore(tmp_path).stage("eval", {"x": 1})
    assert not stage.done
    with stage.lock():  # blocks until the holder has published
        assert stage.done and (stage.path / "out.txt").read_text() == "made by the holder"
    holder.wait(timeout=30)
    err = capsys.readouterr().err
    assert "waiting for eval" in err and "another process (pid" in err


def test_lock_timeout_is_one_line_error(tmp_path, monkeypatch):
    holder = _hold_lock(tmp_path, 5)
    monkeypatch.setenv("HARNESS_LOCK_TIMEOUT", "0.3")
    with pytest.raises(HarnessError, match="still being computed by another process"):
        with RunStore(tmp_path).stage("eval", {"x": 1}).lock():
            pass
    holder.kill()
    holder.wait()
    with RunStore(tmp_path).stage("eval", {"x": 1}).lock():  # a killed holder leaves no stale lock
        pass


def test_failed_stage_releases_its_lock(tmp_path):
    stage = RunStore(tmp_path).stage("train", {"lr": 1})
    with pytest.raises(RuntimeError):
        with stage.lock():
            stage.begin()
            raise RuntimeError("training failed")
    code = (f"from harness.store import RunStore; s = RunStore({str(tmp_path)!r}).stage('train', {{'lr': 1}})\n"
            "import os; os.environ['HARNESS_LOCK_TIMEOUT'] = '0'\nwith s.lock(): print('free')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "free", out.stderr


def test_manifest_lists_every_file_and_checks_catch_each_damage(tmp_path):
    stage = RunStore(tmp_path).stage("train", {"lr": 1}, label="full_cot")
    work = stage.begin()
    (work / "model").mkdir()
    (work / "model" / "weights.bin").write_bytes(b"\0" * 100)
    (work / "report.json").write_text("{}")
    stage.commit({"note": 1})
    files = stage.manifest()["files"]
    assert set(files) == {"inputs.json", "model/weights.bin", "report.json"} and files["report.json"]["size"] == 2
    assert stage.done and check_folder(stage.path, stage.key, verify=True) is None
    (stage.path / "report.json").write_text("[]")  # same size, other content: small files are always hashed
    assert "report.json does not match its sha256" in stage.problem()
    (stage.path / "report.json").write_text("{}")
    (stage.path / "model" / "weights.bin").unlink()
    assert stage.problem() == "model/weights.bin is missing" and not stage.done
    assert stage.status().startswith("damaged (recomputes): model/weights.bin is missing")


def test_manifest_of_an_older_harness_is_recomputed(tmp_path):
    stage = RunStore(tmp_path).stage("teacher", {"a": 1})
    stage.path.mkdir(parents=True)
    (stage.path / MANIFEST).write_text(json.dumps({"stage": "teacher", "key": stage.key, "inputs": {"a": 1}}))
    assert "no file list" in stage.problem()


def test_publish_swaps_a_folder_in_one_step(tmp_path):
    (tmp_path / "final").mkdir()
    (tmp_path / "final" / "old").write_text("old")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "new").write_text("new")
    publish(tmp_path / "work", tmp_path / "final")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]
    assert [p.name for p in (tmp_path / "final").iterdir()] == ["new"]


@pytest.mark.parametrize("label", ["../escape", "a/b", ".hidden", "", "x" * 65, "név"])
def test_names_that_would_leave_the_store_are_refused(tmp_path, label):
    if label == "":
        assert Stage(tmp_path, "method", {}, label).path.parent == tmp_path / "method"
        return
    with pytest.raises(HarnessError, match="cannot name a store folder"):
        Stage(tmp_path, "method", {}, label)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("where", ["/proc/self", "/sys/kernel", "/dev/null", "FILE", "FILE/sub"])
def test_unusable_store_roots_are_one_line_errors(tmp_path, where):
    (tmp_path / "FILE").write_text("a file")
    root = tmp_path / where if where.startswith("FILE") else where
    with pytest.raises(HarnessError, match="run store"):
        check_root(root)


def test_unwritable_store_is_one_line_error(tmp_path, monkeypatch):
    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(tmp_path), "mkdir", denied)  # chmod cannot stop root
    with pytest.raises(HarnessError, match="Permission denied"):
        RunStore(tmp_path / "store").stage("eval", {"x": 1}).begin()


def test_fingerprint_covers_weights_config_and_tokenizer_only(tmp_path, tiny_model_dir):
    import shutil

    from harness.fingerprint import model_fingerprint

    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(tiny_model_dir, a)
    shutil.copytree(tiny_model_dir, b)
    (b / "train_report.json").write_text('{"runtime_s": 12.5, "run_id": "x"}')  # retrained: same bytes, new report
    (b / "README.md").write_text("notes")
    (b / "training_args.bin").write_bytes(b"pickled paths")
    assert model_fingerprint(str(a)) == model_fingerprint(str(b))
    (b / "tokenizer_config.json").write_text((b / "tokenizer_config.json").read_text().replace("}", ', "x": 1}', 1))
    assert model_fingerprint(str(a)) != model_fingerprint(str(b))


def test_fingerprint_reads_every_byte_of_the_weights(tmp_path):
    from harness.fingerprint import model_fingerprint

    (tmp_path / "config.json").write_text("{}")
    weights = bytearray(3 << 20)
    (tmp_path / "model.safetensors").write_bytes(bytes(weights))
    before = model_fingerprint(str(tmp_path))
    weights[-1] = 1  # a LoRA merge can leave the first megabytes untouched
    (tmp_path / "model.safetensors").write_bytes(bytes(weights))
    os.utime(tmp_path / "model.safetensors", ns=(1, 1))  # a new mtime even within one clock tick
    assert model_fingerprint(str(tmp_path)) != before


def test_a_failed_build_through_another_stage_object_releases_the_lock(tmp_path):
    """As `resolve_student` under the pipeline's lock: begin() on a second object of the same folder, then a failure."""
    outer = RunStore(tmp_path).stage("world", {"size": "tiny"})
    with pytest.raises(RuntimeError):
        with outer.lock():
            RunStore(tmp_path).stage("world", {"size": "tiny"}).begin()
            raise RuntimeError("pretraining failed")
    code = (f"from harness.store import RunStore; s = RunStore({str(tmp_path)!r}).stage('world', {{'size': 'tiny'}})\n"
            "import os; os.environ['HARNESS_LOCK_TIMEOUT'] = '0'\nwith s.lock(): print('free')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "free", out.stderr


# --------------------------------------------------------------------------- issue #33: links, read-only stores, partials

@pytest.mark.parametrize("make, needle", [
    (lambda d: (d / "store").symlink_to(d / "store"), "is a symbolic link loop"),
    (lambda d: (d / "store").symlink_to(d / "nowhere"), "is a symbolic link to"),
])
@pytest.mark.parametrize("below", ["", "sub"])
def test_store_paths_through_broken_links_are_one_line_errors(tmp_path, make, needle, below):
    make(tmp_path)
    root = tmp_path / "store" / below if below else tmp_path / "store"
    with pytest.raises(HarnessError, match=f"^run store {root}.*{needle}.*; choose another --store$"):
        RunStore(root)


def test_a_failed_attempt_removes_its_partial_folder_unless_it_holds_work_to_resume(tmp_path):
    store = RunStore(tmp_path)
    empty, resumable = store.stage("method", {"a": 1}), store.stage("eval", {"a": 2})
    for stage, text in ((empty, ""), (resumable, '{"sample": 0}\n')):
        with pytest.raises(HarnessError, match="failed"):
            with stage.lock():
                work = stage.begin()
                (work / "model").mkdir()  # an empty folder, or an empty file, is nothing to resume from
                (work / "generations.jsonl").write_text(text)
                raise HarnessError("failed")
    assert not empty.work.exists() and not empty.path.exists()
    assert (resumable.work / "generations.jsonl").is_file() and resumable.status() == "partial (resumes)"


_READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'


def _read_only(store, how):
    """A command prefix under which `store` is read-only: a read-only bind mount in a user namespace
    ("mount"), or a tree without write permission ("chmod"; root, whom chmod does not stop, runs as
    an ordinary user of a user namespace). Skips where this machine cannot have it."""
    if how == "chmod":
        for path in [*store.rglob("*"), store]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        if os.geteuid() != 0:
            return []
        prefix = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    else:
        prefix = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", _READ_ONLY_MOUNT, str(store)]
    try:
        if subprocess.run([*prefix, "true"], capture_output=True, timeout=60).returncode == 0:
            return prefix
    except OSError:
        pass
    pytest.skip(f"no user namespace here for a read-only store ({how})")


@pytest.mark.parametrize("how", ["mount", "chmod"])
def test_a_read_only_store_serves_finished_stages_and_refuses_to_compute(tmp_path, how):
    store = tmp_path / "store"
    done = RunStore(store).stage("eval", {"x": 1}, label="bench")
    (done.begin() / "result.json").write_text('{"score": 1}\n')
    done.commit({})
    code = textwrap.dedent("""
        import sys
        from harness.errors import HarnessError
        from harness.store import RunStore
        store = RunStore(sys.argv[1])
        done = store.stage("eval", {"x": 1}, label="bench")
        with done.lock():
            print("reused", done.done, (done.path / "result.json").read_text().strip())
        todo = store.stage("eval", {"x": 2}, label="bench")
        with todo.lock():
            try:
                todo.begin()
            except HarnessError as exc:
                print("refused:", exc)
    """)
    try:
        out = subprocess.run([*_read_only(store, how), sys.executable, "-c", code, str(store)], capture_output=True,
                             text=True, timeout=120)
    finally:
        for path in [store, *store.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert out.returncode == 0, out.stderr
    reused, refused = out.stdout.splitlines()
    assert reused == 'reused True {"score": 1}'
    assert refused.startswith(f"refused: eval bench-{RunStore(store).stage('eval', {'x': 2}).key} must be computed, "
                              f"but the run store {store} is read-only (")
    assert "read-only" in out.stderr  # the log says once that stages are reused without a lock
    assert sorted(p.name for p in (store / "eval").iterdir()) == [done.name]

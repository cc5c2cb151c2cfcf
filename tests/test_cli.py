import subprocess
import sys

import pytest

from harness.cli import COMMANDS, main


def _run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, **kw)


def test_help_lists_every_subcommand():
    out = _run("--help")
    assert out.returncode == 0
    for _, name in COMMANDS:
        assert name in out.stdout


@pytest.mark.parametrize("name", [name for _, name in COMMANDS])
def test_each_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert name in capsys.readouterr().out


def test_version():
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.startswith("harness ")


def _assert_one_line_error(out, *needles):
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in lines[0]


def test_unknown_method_is_one_line_exit_2():
    _assert_one_line_error(_run("run", "--method", "no-such-method"), "no-such-method")


def test_missing_config_is_one_line_exit_2(tmp_path):
    _assert_one_line_error(_run("run", "--config", str(tmp_path / "missing.yaml")), "missing.yaml")


def test_malformed_preset_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("method: {name: palign\n")
    _assert_one_line_error(_run("run", "--config", str(bad)), "bad.yaml", "malformed YAML")


def test_unknown_option_is_one_line_exit_2():
    _assert_one_line_error(_run("run", "--no-such-flag"), "no-such-flag")


# --------------------------------------------------------------------------- issue #33: numeric environment settings

@pytest.mark.parametrize("variable, value, needle", [
    ("HARNESS_LOCK_TIMEOUT", "-5", ">= 0"),         # was silently 0
    ("HARNESS_LOCK_TIMEOUT", "abc", ">= 0"),        # was an error only once a lock was waited for
    ("HARNESS_LOCK_TIMEOUT", "nan", ">= 0"),
    ("HARNESS_PROGRESS_INTERVAL", "-1", ">= 0.1"),  # was a progress line every 0.05 s
    ("HARNESS_PROGRESS_INTERVAL", "0", ">= 0.1"),
    ("HARNESS_PROGRESS_INTERVAL", "abc", ">= 0.1"),  # was silently the default
    ("HARNESS_PROGRESS_INTERVAL", "inf", ">= 0.1"),
])
def test_bad_numeric_environment_settings_are_one_line_errors_before_any_work(variable, value, needle, tmp_path,
                                                                             monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    gens = tmp_path / "g.jsonl"
    gens.write_text('{"answer": "7", "outputs": ["\\\\boxed{7}"]}\n')
    code = main(["score", str(gens), "--json", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert f"{variable}={value!r}" in lines[0] and needle in lines[0]
    assert not (tmp_path / "s.json").exists()


def test_good_numeric_environment_settings_are_read(monkeypatch):
    from harness.console import progress_interval
    from harness.store_locks import lock_timeout

    monkeypatch.setenv("HARNESS_PROGRESS_INTERVAL", "0.2")
    monkeypatch.setenv("HARNESS_LOCK_TIMEOUT", "0")
    assert progress_interval() == 0.2 and lock_timeout() == 0
    monkeypatch.setenv("HARNESS_PROGRESS_INTERVAL", "")
    monkeypatch.delenv("HARNESS_LOCK_TIMEOUT")
    assert progress_interval() == 20 and lock_timeout() is None


def test_a_full_disk_anywhere_is_one_line_and_other_os_errors_stay_bugs(tmp_path, monkeypatch, capsys):
    """Issue #33: a write the harness does not wrap itself (a library's save) hitting a full disk."""
    import errno
    import os

    target = tmp_path / "model.safetensors"

    def failing(code):
        def fail(args):
            raise OSError(code, os.strerror(code), str(target))

        return fail

    gens = tmp_path / "g.jsonl"
    gens.write_text('{"answer": "7", "outputs": ["7"]}\n')
    monkeypatch.setattr("harness.commands.score.score_file", failing(errno.ENOSPC))
    assert main(["score", str(gens)]) == 2
    assert capsys.readouterr().err == (f"error: cannot write {target}: No space left on device; free some space and "
                                       f"run again (finished stages and resumable work are kept)\n")
    monkeypatch.setattr("harness.commands.score.score_file", failing(errno.EIO))
    with pytest.raises(OSError):
        main(["score", str(gens)])

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

"""Config values are bounded before they are expanded or printed (issue #33, item 6).

A few hundred bytes of YAML aliases spell a value of 9**9 strings; an error that echoed it,
or any walk that copied it, ran for minutes at gigabytes. Such a document is refused when it
is read, and every error that echoes a value shows a bounded repr.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading

import pytest

from harness.config import load_yaml, parse_override, resolve_run_config
from harness.errors import HarnessError

HANG_GUARD_S = 60  # only stops a hung child; nothing here is timed
MEMORY_GUARD = 2 << 30  # address space for the child: a regression dies of MemoryError instead of eating the machine


def bomb(key_path: list[str], levels: int = 9) -> str:
    """YAML whose value at `key_path` is a list of `levels` anchored lists, each nine aliases of the one before."""
    lines = [" " * (2 * i) + f"{key}:" for i, key in enumerate(key_path)]
    indent = " " * (2 * len(key_path))
    lines.append(f"{indent}- &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]")
    for level in range(1, levels):
        lines.append(f"{indent}- &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def run_measured(argv: list[str], cwd) -> tuple[int, str, int]:
    """Run the CLI in a child; its exit code, stderr and peak resident memory in bytes (its own rusage, via wait4)."""
    err_path = cwd / "stderr.txt"
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                                stderr=err, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS,
                                                                                  (MEMORY_GUARD, MEMORY_GUARD)))
        guard = threading.Timer(HANG_GUARD_S, proc.kill)
        guard.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            guard.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait for it again
    return proc.returncode, err_path.read_text(), usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


@pytest.mark.parametrize("key_path", [["teacher", "problems"], ["method", "params", "max_pieces"]],
                         ids=["teacher.problems", "method.params.max_pieces"])
def test_alias_bomb_is_one_line_and_exit_2_in_bounded_memory(key_path, tmp_path):
    (tmp_path / "bomb.yaml").write_text(bomb(key_path))
    code, err, peak = run_measured(["run", "--config", "bomb.yaml", "--dry-run", "--store", str(tmp_path / "s")],
                                   tmp_path)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err[-2000:]
    assert lines[0] == "error: bomb.yaml: YAML aliases expand to more than 100000 values; write the values out"
    assert peak < 500 * 2**20, f"peak resident memory {peak / 2**20:.0f} MiB"
    assert not (tmp_path / "s").exists()


def test_alias_bomb_in_a_set_value_is_refused():
    value = "[&a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]" + "".join(
        f", &{b} [" + ", ".join([f"*{a}"] * 10) + "]" for a, b in zip("abcde", "bcdef")) + "]"
    with pytest.raises(HarnessError, match=r"^--set teacher.problems: YAML aliases expand to more than 100000"):
        parse_override(f"teacher.problems={value}")


def test_aliases_within_the_bound_still_work(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("eval:\n  sampling: &s {temperature: 0.7, top_p: 0.9}\nmethod:\n  sampling: *s\n")
    cfg = resolve_run_config(config_file=path)
    assert cfg.method.sampling.temperature == cfg.eval.sampling.temperature == 0.7


@pytest.mark.parametrize("text, needle", [
    ("seed: &a [*a]\n", "a YAML alias refers to a value that contains it"),
    ("seed: " + "[" * 5000 + "\n", "YAML nested too deeply"),
    ("seed: " + "9" * 5000 + "\n", "a YAML value that cannot be built (Exceeds the limit"),
    ("seed: 2024-13-45\n", "a YAML value that cannot be built (month must be in 1..12)"),
])
def test_yaml_that_cannot_be_held_is_one_line(tmp_path, text, needle):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(HarnessError, match="^" + str(path) + ": ") as err:
        load_yaml(path)
    assert needle in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("override, where", [
    ("teacher.problems=[" + ", ".join(["[1, 2, 3]"] * 2000) + "]", "config.teacher.problems: expected a string"),
    ("eval.n=" + "x" * 100000, "config.eval.n: expected an integer"),
    ("train.nope" + "x" * 100000 + "=1", "config.train: unknown key"),
    ("train.lr_scheduler_type=" + "x" * 100000, "train.lr_scheduler_type must be one of"),
    ("eval.benchmarks=[" + "x" * 100000 + "]", "unknown benchmark"),
    ("method.params.judge=" + "x" * 100000, "method.params.judge must be one of"),
])
def test_errors_echo_a_bounded_value(override, where):
    from harness.command_config import resolve_checked

    with pytest.raises(HarnessError) as err:
        resolve_checked(None, None, [parse_override(override)])
    message = str(err.value)
    assert message.startswith(where) or where in message
    # The message's own words plus at most ~80 characters of the value (a known-names list may follow it).
    assert len(message) < 400, message[:500]


def test_a_preset_name_too_long_for_the_file_system_is_unknown():
    with pytest.raises(HarnessError, match=r"^unknown preset 'aaa.*' \(known: .*synthetic"):
        resolve_run_config(preset="a" * 300)


def test_brief_bounds_any_value():
    from harness.errors import brief

    nested: list = ["lol"] * 9
    for _ in range(8):
        nested = [nested] * 9  # 9**9 strings, shared: repr() would build gigabytes
    for value in (nested, "x" * 10**6, {f"k{i}": i for i in range(10**5)}, 10**4000):
        assert len(brief(value)) <= 80
    assert brief("teacher.jsonl") == "'teacher.jsonl'"

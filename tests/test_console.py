"""What a person sees outside a terminal (issue #14): log lines, progress lines, whole tables, quiet libraries."""

import re
import time
import warnings

from rich.table import Table

from harness.console import LogProgress, console, log, progress, setup_cli_output, stdout_console

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def test_log_lines_are_plain_and_timestamped(capsys):
    log("computing eval 1234")
    err = capsys.readouterr().err
    assert re.fullmatch(rf"{STAMP} computing eval 1234\n", err)


def test_progress_outside_a_terminal_logs_periodic_and_final_lines(capsys):
    bar = LogProgress(interval=0.1)
    assert isinstance(progress(), LogProgress) or console.is_terminal  # captured stderr is not a terminal
    with bar:
        task = bar.add_task("generate synth_routine", total=4)
        for _ in range(4):
            time.sleep(0.12)
            bar.advance(task)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 3 and all(re.match(rf"{STAMP} generate synth_routine: \d/4 \(\d+%\), ", line) for line in lines)
    assert "elapsed" in lines[0] and ("/s" in lines[0] or "/min" in lines[0])
    assert lines[-1].split(" ", 2)[2].startswith("generate synth_routine: 4/4 (100%)")
    assert sum("4/4" in line for line in lines) == 1  # the end is said once


def test_a_stalled_loop_still_says_it_is_alive(capsys):
    with LogProgress(interval=0.05) as bar:
        bar.add_task("train steps", total=10)
        time.sleep(0.3)  # one long step: no advance at all
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 3 and "0/10 (0%)" in lines[0] and lines[-1].endswith("(stopped early)")


def test_tables_are_never_cut_outside_a_terminal(capsys):
    table = Table(title="wide")
    names = [f"synth_routine_{i}\npass@1 [95% CI]" for i in range(12)] + ["example_column_with_a_long_name"]
    for name in names:
        table.add_column(name)
    table.add_row(*["12.5 [10, 15]"] * 12, "example_value_that_is_long_too")
    stdout_console().print(table)
    out = capsys.readouterr().out
    assert "…" not in out and "example_column_with_a_long_name" in out and "synth_routine_11" in out
    assert max(len(line) for line in out.splitlines()) > 200


def test_third_party_warnings_become_one_line_or_are_dropped(capsys):
    with warnings.catch_warnings():
        setup_cli_output()
        warnings.warn("`past_key_values` is deprecated and will be removed", FutureWarning)
        warnings.warn("something a library says\nover two lines", UserWarning)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and re.fullmatch(rf"{STAMP} warning: UserWarning: something a library says", lines[0])

"""Bad-input cases for config values any command reads (issue #33): sampling that cannot give
several samples, and YAML that cannot be held (alias bombs, nesting, oversized numbers)."""

from bad_input_corpus import case, eval_argv, run_argv


def alias_bomb(key_path: list[str], levels: int = 9) -> str:
    """A value of 9**levels strings in a few hundred bytes: anchored lists of nine aliases each."""
    lines = [" " * (2 * i) + f"{key}:" for i, key in enumerate(key_path)]
    indent = " " * (2 * len(key_path))
    lines.append(f"{indent}- &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]")
    for level in range(1, levels):
        lines.append(f"{indent}- &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- several samples, greedy


@case("eval-n-greedy", "--n 3 at the default temperature 0 (the README's example before #33)",
      "eval.n is 3", "--temperature 0.6")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--limit", "1", "--n", "3", "--k", "1,3")


@case("run-n-greedy", "eval.n=3 with eval.sampling.temperature=0", "eval.n is 3",
      "--set eval.sampling.temperature=0.6")
def _(ctx):
    return run_argv(ctx, "--n", "3", "--set", "eval.sampling.temperature=0", "--dry-run")


@case("run-rollouts-greedy", "palign's rollouts=2 (the preset's) with method.sampling.temperature=0",
      "method.params.rollouts is 2", "--set method.sampling.temperature=0.6")
def _(ctx):
    return run_argv(ctx, "--method", "palign", "--set", "method.sampling.temperature=0", "--dry-run")


@case("teacher-n-greedy", "teacher.n=2 with teacher.sampling.temperature=0", "teacher.n is 2",
      "--set teacher.sampling.temperature=0.6")
def _(ctx):
    return ["teacher", "--source", "model", "--model", str(ctx.model), "--limit", "1", "--n", "2",
            "--set", "teacher.sampling.temperature=0", "--json", str(ctx.json_out)]


# --------------------------------------------------------------------------- YAML that cannot be held


@case("run-yaml-alias-bomb-teacher", "an alias bomb under teacher.problems", "c.yaml", "aliases expand")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", alias_bomb(["teacher", "problems"]))), "--dry-run")


@case("run-yaml-alias-bomb-method-param", "an alias bomb under method.params.max_pieces", "c.yaml", "aliases expand")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", alias_bomb(["method", "params", "max_pieces"]))),
                    "--dry-run")


@case("run-set-alias-bomb", "an alias bomb in a --set value", "--set teacher.problems", "aliases expand")
def _(ctx):
    value = "[&a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]" + "".join(
        f", &{b} [" + ", ".join([f"*{a}"] * 10) + "]" for a, b in zip("abcde", "bcdef")) + "]"
    return run_argv(ctx, "--set", f"teacher.problems={value}", "--dry-run")


@case("run-yaml-recursive-alias", "a YAML value that contains itself", "c.yaml", "contains it")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", "seed: &a [*a]\n")), "--dry-run")


@case("run-yaml-nested-too-deep", "5,000 nested lists", "c.yaml", "nested too deeply")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", "seed: " + "[" * 5000 + "\n")), "--dry-run")


@case("run-yaml-integer-too-long", "a 5,000-digit integer", "c.yaml", "cannot be built")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", "seed: " + "9" * 5000 + "\n")), "--dry-run")


@case("run-yaml-bad-date", "a date YAML reads but Python cannot build (2024-13-45)", "c.yaml", "month")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", "seed: 2024-13-45\n")), "--dry-run")


@case("run-huge-value-echoed", "a 100,000-character value of the wrong type", "config.eval.n", "expected an integer")
def _(ctx):
    return run_argv(ctx, "--set", "eval.n=" + "x" * 100_000, "--dry-run")


@case("run-preset-name-too-long", "a preset name longer than a file name may be", "unknown preset")
def _(ctx):
    return run_argv(ctx, "--preset", "a" * 300, "--dry-run")

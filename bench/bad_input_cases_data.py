"""Bad-input cases for `harness score` and `harness eval`: generations and benchmark files, evaluation flags."""

import json

from bad_input_corpus import GOOD_PROBLEM, GOOD_SCORE, Spec, case, eval_argv, score_argv, unreadable


# --------------------------------------------------------------------------- harness score


@case("score-malformed-jsonl", "a line that is not JSON", ":2:", "malformed JSON")
def _(ctx):
    return score_argv(ctx, ctx.write("g.jsonl", json.dumps(GOOD_SCORE) + "\n{not json\n"))


@case("score-top-level-array", "a JSONL line that is an array, not an object", "expected a JSON object")
def _(ctx):
    return score_argv(ctx, ctx.write("g.jsonl", "[1, 2, 3]\n"))


@case("score-missing-outputs", "no outputs field", "'outputs'")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [{"id": "p1", "answer": "7"}]))


@case("score-missing-answer", "no answer field and no --benchmark", "'answer'")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [{"id": "p1", "outputs": ["7"]}]))


@case("score-outputs-wrong-type", "outputs is a number", "'outputs'")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [{**GOOD_SCORE, "outputs": 7}]))


@case("score-output-item-wrong-type", "an output that is null, not a string", "'outputs'")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [{**GOOD_SCORE, "outputs": ["\\boxed{7}", None]}]))


@case("score-answer-wrong-type", "a gold answer that is a list", "'answer'")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [{**GOOD_SCORE, "answer": ["7"]}]))


@case("score-empty-file", "an empty JSONL file", "no lines")
def _(ctx):
    return score_argv(ctx, ctx.write("g.jsonl", ""))


@case("score-non-utf8", "bytes that are not UTF-8", "malformed JSON")
def _(ctx):
    return score_argv(ctx, ctx.write("g.jsonl", b'{"answer": "7", "outputs": ["\xff\xfe"]}\n'))


@case("score-gold-nan", "a gold answer NaN: Python's json reads it, JSON has no such value", "g.jsonl:2", "NaN")
def _(ctx):
    return score_argv(ctx, ctx.write("g.jsonl", json.dumps(GOOD_SCORE) + '\n{"answer": NaN, "outputs": ["nan"]}\n'))


@case("score-gold-infinity", "a gold answer -Infinity", "g.jsonl:1", "-Infinity")
def _(ctx):
    return score_argv(ctx, ctx.write("g.jsonl", '{"answer": -Infinity, "outputs": ["-inf"]}\n'))


@case("score-missing-file", "a generations file that does not exist", "missing.jsonl")
def _(ctx):
    return score_argv(ctx, ctx.work / "missing.jsonl")


@case("score-unreadable-file", "a file that cannot be read (chmod 000, or a folder when root)", "g.jsonl")
def _(ctx):
    path, how = unreadable(ctx, "g.jsonl", json.dumps(GOOD_SCORE) + "\n")
    return Spec(score_argv(ctx, path), note=how)


@case("score-bad-k-text", "--k that is not integers", "--k")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [GOOD_SCORE]), "--k", "one,two")


@case("score-k-greater-than-n", "pass@3 from one output per problem", "pass@3")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [GOOD_SCORE]), "--k", "3")


@case("score-k-zero", "pass@0", "pass@0")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [GOOD_SCORE]), "--k", "0")


@case("score-json-is-folder", "--json naming a folder: refused before grading, no stray temporary", "is a folder")
def _(ctx):
    (ctx.work / "outdir").mkdir()
    return ["score", str(ctx.jsonl("g.jsonl", [GOOD_SCORE])), "--json", str(ctx.work / "outdir")]


@case("score-workers-zero", "zero grader workers", "--workers")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [GOOD_SCORE]), "--workers", "0")


@case("score-timeout-zero", "a grading timeout of 0 s", "--timeout")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [GOOD_SCORE]), "--timeout", "0")


@case("score-unknown-benchmark", "--benchmark that is not registered", "nope")
def _(ctx):
    return score_argv(ctx, ctx.jsonl("g.jsonl", [GOOD_SCORE]), "--benchmark", "nope")


@case("score-duplicate-ids", "the same problem id on two lines", "'p1'")
def _(ctx):
    data = ctx.jsonl("data/aime24.jsonl", [{"id": "p1", "problem": "3 + 4?", "answer": "7"},
                                           {"id": "p2", "problem": "2 + 2?", "answer": "4"}])
    gens = ctx.jsonl("g.jsonl", [{"id": "p1", "outputs": ["7"]}, {"id": "p1", "outputs": ["7"]}])
    return score_argv(ctx, gens, "--benchmark", "aime24", "--data-dir", str(data.parent))


# --------------------------------------------------------------------------- harness eval

@case("eval-missing-model", "a model folder that does not exist", "/nonexistent")
def _(ctx):
    return ["eval", "--model", "/nonexistent/model", "--json", str(ctx.json_out), "--benchmarks", "synth_routine", "--limit", "1"]


@case("eval-empty-model-folder", "a folder with no model in it", "config.json")
def _(ctx):
    (ctx.work / "empty").mkdir()
    return ["eval", "--model", str(ctx.work / "empty"), "--json", str(ctx.json_out), "--benchmarks", "synth_routine", "--limit", "1"]


@case("eval-config-without-weights", "a model folder with config.json and no weights", "has no weights")
def _(ctx):
    folder = ctx.work / "noweights"
    folder.mkdir()
    (folder / "config.json").write_text((ctx.model / "config.json").read_text())
    return ["eval", "--model", str(folder), "--json", str(ctx.json_out), "--benchmarks", "synth_routine", "--limit", "1"]


@case("eval-lora-adapter-folder", "a folder holding a LoRA adapter, not a merged model", "LoRA adapter", "merge it first")
def _(ctx):
    folder = ctx.work / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text('{"base_model_name_or_path": "org/base", "peft_type": "LORA"}')
    return ["eval", "--model", str(folder), "--json", str(ctx.json_out), "--benchmarks", "synth_routine", "--limit", "1"]


@case("eval-data-parallel-zero", "--data-parallel-size 0", "engine.data_parallel_size", ">= 1")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--data-parallel-size", "0")


@case("eval-data-parallel-transformers", "--data-parallel-size 2 with the transformers engine",
      "engine.data_parallel_size=2", "'transformers'")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--limit", "1", "--engine", "transformers",
                     "--data-parallel-size", "2")


@case("eval-unknown-benchmark", "a benchmark name that is not registered", "nope")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine,nope")


@case("eval-k-greater-than-n", "pass@2 with n=1", "pass@2")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--n", "1", "--k", "2")


@case("eval-n-zero", "n = 0", "--n")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--n", "0")


@case("eval-negative-n", "n = -3", "--n")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--n", "-3")


@case("eval-bad-k-text", "--k 1,x", "--k")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--k", "1,x")


@case("eval-unknown-engine", "--engine nope", "nope")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--engine", "nope")


@case("eval-bad-dtype", "--dtype float8", "float8")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--limit", "1", "--dtype", "float8")


@case("eval-negative-temperature", "--temperature -1", "temperature", ">= 0")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--temperature", "-1")


@case("eval-batch-size-zero", "--batch-size 0", "engine.batch_size")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--batch-size", "0")


@case("eval-max-new-tokens-huge", "--max-new-tokens 100000000", "max_new_tokens")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--max-new-tokens", "100000000")


@case("eval-budget-above-cap", "--budgets past --max-new-tokens", "--budgets has 64", "--max-new-tokens (32)")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--max-new-tokens", "32", "--budgets", "16,64")


@case("eval-grader-timeout-zero", "--grader-timeout 0", "grader_timeout")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--grader-timeout", "0")


@case("eval-top-p-zero", "--top-p 0", "top_p")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--top-p", "0")


@case("eval-limit-zero", "--limit 0", "--limit")
def _(ctx):
    return eval_argv(ctx, "--benchmarks", "synth_routine", "--limit", "0")


@case("eval-data-malformed", "a benchmark file via --data-dir with a broken line", "aime24.jsonl:2", "malformed JSON")
def _(ctx):
    data = ctx.write("data/aime24.jsonl", json.dumps(GOOD_PROBLEM) + "\n{\"id\": \"a2\", \n")
    return eval_argv(ctx, "--benchmarks", "aime24", "--data-dir", str(data.parent))


@case("eval-data-missing-field", "a benchmark row without an answer", "'answer'")
def _(ctx):
    data = ctx.jsonl("data/aime24.jsonl", [GOOD_PROBLEM, {"id": "a2", "problem": "2 + 2?"}])
    return eval_argv(ctx, "--benchmarks", "aime24", "--data-dir", str(data.parent))


@case("eval-data-wrong-type", "a benchmark row whose problem is a mapping", "'problem'")
def _(ctx):
    data = ctx.jsonl("data/aime24.jsonl", [GOOD_PROBLEM, {"id": "a2", "problem": {"text": "2 + 2?"}, "answer": "4"}])
    return eval_argv(ctx, "--benchmarks", "aime24", "--data-dir", str(data.parent))


@case("eval-data-empty", "an empty benchmark file", "no problems")
def _(ctx):
    data = ctx.write("data/aime24.jsonl", "\n")
    return eval_argv(ctx, "--benchmarks", "aime24", "--data-dir", str(data.parent))


@case("eval-data-duplicate-ids", "two benchmark problems with one id", "'a1'")
def _(ctx):
    data = ctx.jsonl("data/aime24.jsonl", [GOOD_PROBLEM, {**GOOD_PROBLEM, "problem": "What is 4 + 3?"}])
    return eval_argv(ctx, "--benchmarks", "aime24", "--data-dir", str(data.parent))


@case("eval-data-file-absent", "--data-dir without the benchmark's file", "aime24.jsonl")
def _(ctx):
    (ctx.work / "data").mkdir()
    return eval_argv(ctx, "--benchmarks", "aime24", "--data-dir", str(ctx.work / "data"))


@case("eval-data-unreadable", "a benchmark file that cannot be read", "aime24.jsonl")
def _(ctx):
    path, how = unreadable(ctx, "data/aime24.jsonl", json.dumps(GOOD_PROBLEM) + "\n")
    return Spec(eval_argv(ctx, "--benchmarks", "aime24", "--data-dir", str(path.parent)), note=how)


@case("eval-data-gold-infinity", "a benchmark answer Infinity (not JSON)", "aime24.jsonl:2", "Infinity")
def _(ctx):
    data = ctx.write("data/aime24.jsonl", json.dumps(GOOD_PROBLEM) + '\n{"id": "a2", "problem": "1/0?", "answer": Infinity}\n')
    return eval_argv(ctx, "--benchmarks", "aime24", "--data-dir", str(data.parent))

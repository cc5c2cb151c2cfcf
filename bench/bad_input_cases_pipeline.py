"""Bad-input cases for `harness run`, `harness train` and `harness teacher`: configs, overrides, SFT and teacher data."""

import json

from bad_input_corpus import GOOD_PROBLEM, GOOD_SFT, Spec, case, run_argv, train_argv, unreadable


# --------------------------------------------------------------------------- harness run


@case("run-unknown-method", "--method nope", "nope")
def _(ctx):
    return run_argv(ctx, "--method", "nope")


@case("run-unknown-preset", "--preset that does not exist", "no-such-preset")
def _(ctx):
    return run_argv(ctx, "--preset", "no-such-preset")


@case("run-missing-config", "--config file that does not exist", "missing.yaml")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.work / "missing.yaml"))


@case("run-bad-yaml", "--config with invalid YAML", "malformed YAML")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", "eval: {n: 1\nmethod: [\n")))


@case("run-yaml-unknown-field", "a config with an unknown field", "learning_rat")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", "train:\n  learning_rat: 0.1\n")))


@case("run-yaml-top-level-list", "a config that is a list, not a mapping", "mapping")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", "- eval\n- train\n")))


@case("run-yaml-non-utf8", "a config file that is not UTF-8", "c.yaml")
def _(ctx):
    return run_argv(ctx, "--config", str(ctx.write("c.yaml", b"seed: 0\n# caf\xe9 \xff\n")))


@case("run-yaml-unreadable", "a config file that cannot be read", "c.yaml")
def _(ctx):
    path, how = unreadable(ctx, "c.yaml", "seed: 0\n")
    return Spec(run_argv(ctx, "--config", str(path)), note=how)


@case("run-set-unknown-key", "--set with a key no config has", "nope")
def _(ctx):
    return run_argv(ctx, "--set", "eval.nope=1")


@case("run-set-wrong-type", "--set eval.n=lots", "eval.n", "integer")
def _(ctx):
    return run_argv(ctx, "--set", "eval.n=lots")


@case("run-set-no-value", "--set without '='", "train.learning_rate")
def _(ctx):
    return run_argv(ctx, "--set", "train.learning_rate")


@case("run-unknown-method-param", "--set method.params.nope=1", "nope")
def _(ctx):
    return run_argv(ctx, "--set", "method.params.nope=1")


@case("run-k-greater-than-n", "pass@3 with n=1", "pass@3")
def _(ctx):
    return run_argv(ctx, "--n", "1", "--k", "3")


@case("run-n-zero", "n = 0 (no k to trip over)", "eval.n")
def _(ctx):
    return run_argv(ctx, "--n", "0", "--k", "")


@case("run-negative-n", "n = -1", "-1")
def _(ctx):
    return run_argv(ctx, "--n", "-1")


@case("run-bad-k-text", "--k 1,x", "eval.k")
def _(ctx):
    return run_argv(ctx, "--k", "1,x")


@case("run-unknown-benchmark", "--benchmarks with an unknown name", "nope")
def _(ctx):
    return run_argv(ctx, "--benchmarks", "synth_routine,nope")


@case("run-unknown-engine-flag", "--engine nope", "nope")
def _(ctx):
    return run_argv(ctx, "--engine", "nope")


@case("run-unknown-engine-set", "engine.name=nope through --set, before any stage runs", "nope")
def _(ctx):
    return run_argv(ctx, "--set", "engine.name=nope")


@case("run-bad-dtype-set", "engine.dtype=float8 through --set, before any stage runs", "float8")
def _(ctx):
    return run_argv(ctx, "--set", "engine.dtype=float8")


@case("run-unknown-teacher-source", "teacher.source=nope through --set", "nope")
def _(ctx):
    return run_argv(ctx, "--set", "teacher.source=nope")


@case("run-data-dir-malformed", "eval.data_dir with a broken benchmark file", "aime24.jsonl:1")
def _(ctx):
    data = ctx.write("data/aime24.jsonl", "{oops}\n")
    return run_argv(ctx, "--benchmarks", "aime24", "--set", f"eval.data_dir={data.parent}")


@case("run-missing-student", "--student folder that does not exist", "/nonexistent")
def _(ctx):
    return ["run", "--student", "/nonexistent/student", "--json", str(ctx.json_out)]


# Values that type-check but cannot work (issue #14): refused when the config resolves, before
# any stage runs, for --dry-run too.

@case("run-negative-learning-rate", "train.learning_rate=-1", "train.learning_rate", "> 0")
def _(ctx):
    return run_argv(ctx, "--set", "train.learning_rate=-1")


@case("run-negative-epochs", "train.num_train_epochs=-3", "train.num_train_epochs", "> 0")
def _(ctx):
    return run_argv(ctx, "--set", "train.num_train_epochs=-3")


@case("run-threshold-out-of-range", "method.params.threshold=5 (palign)", "threshold")
def _(ctx):
    return run_argv(ctx, "--method", "palign", "--set", "method.params.threshold=5")


@case("run-batch-size-zero", "engine.batch_size=0", "engine.batch_size", ">= 1")
def _(ctx):
    return run_argv(ctx, "--set", "engine.batch_size=0")


@case("run-max-new-tokens-huge", "eval.sampling.max_new_tokens=100000000", "eval.sampling.max_new_tokens")
def _(ctx):
    return run_argv(ctx, "--set", "eval.sampling.max_new_tokens=100000000")


@case("run-grader-timeout-zero", "eval.grader_timeout=0", "eval.grader_timeout")
def _(ctx):
    return run_argv(ctx, "--set", "eval.grader_timeout=0")


@case("run-negative-temperature", "eval.sampling.temperature=-1", "eval.sampling.temperature", ">= 0")
def _(ctx):
    return run_argv(ctx, "--set", "eval.sampling.temperature=-1")


@case("run-method-top-p-zero", "method.sampling.top_p=0", "method.sampling.top_p")
def _(ctx):
    return run_argv(ctx, "--set", "method.sampling.top_p=0")


@case("run-unknown-benchmark-dry-run", "eval.benchmarks=[nope] with --dry-run", "nope")
def _(ctx):
    return run_argv(ctx, "--set", "eval.benchmarks=[nope]", "--dry-run")


@case("run-negative-seed", "--seed -1", "seed")
def _(ctx):
    return run_argv(ctx, "--seed", "-1")


@case("run-world-wrong-fraction", "world.wrong_fraction=2", "world.wrong_fraction")
def _(ctx):
    return run_argv(ctx, "--set", "world.wrong_fraction=2")


@case("run-unknown-scheduler", "train.lr_scheduler_type=cosin", "lr_scheduler_type", "cosin")
def _(ctx):
    return run_argv(ctx, "--set", "train.lr_scheduler_type=cosin")


@case("run-json-is-folder", "--json naming a folder", "is a folder")
def _(ctx):
    (ctx.work / "outdir").mkdir()
    return ["run", "--student", str(ctx.model), "--json", str(ctx.work / "outdir")]


@case("run-store-is-file", "--store naming a file", "not a folder")
def _(ctx):
    path = ctx.write("store-file", "a file\n")
    return Spec(["run", "--student", str(ctx.model), "--json", str(ctx.json_out), "--store", str(path)], own_store=True)


@case("run-store-under-proc", "--store under /proc", "/proc")
def _(ctx):
    return Spec(["run", "--student", str(ctx.model), "--json", str(ctx.json_out), "--store", "/proc/self/harness"],
                own_store=True)


@case("run-store-under-sys", "--store under /sys", "/sys")
def _(ctx):
    return Spec(["run", "--student", str(ctx.model), "--json", str(ctx.json_out), "--store", "/sys/harness"],
                own_store=True)


@case("run-store-symlink-loop", "--store naming a symbolic link to itself", "symbolic link loop")
def _(ctx):
    (ctx.work / "loop").symlink_to(ctx.work / "loop")
    return Spec(run_argv(ctx, "--store", str(ctx.work / "loop")), own_store=True)


@case("run-store-dangling-symlink", "--store naming a symbolic link to nothing", "nowhere", "does not exist")
def _(ctx):
    (ctx.work / "dangling").symlink_to(ctx.work / "nowhere")
    return Spec(run_argv(ctx, "--store", str(ctx.work / "dangling")), own_store=True)


# --------------------------------------------------------------------------- harness train

@case("train-missing-data", "--data file that does not exist", "sft.jsonl")
def _(ctx):
    return train_argv(ctx, ctx.work / "sft.jsonl")


@case("train-malformed-data", "an SFT file with a broken line", "sft.jsonl:2", "malformed JSON")
def _(ctx):
    return train_argv(ctx, ctx.write("sft.jsonl", json.dumps(GOOD_SFT) + "\n{\"prompt\": \n"))


@case("train-missing-field", "an SFT record without a completion", "sft.jsonl:1")
def _(ctx):
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [{"prompt": "What is 3 + 4?"}]))


@case("train-wrong-type", "an SFT record whose prompt is a number", "sft.jsonl:1")
def _(ctx):
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [{"prompt": 7, "completion": "7"}]))


@case("train-bad-message", "a chat turn with no content", "sft.jsonl:1")
def _(ctx):
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [{"prompt": [{"role": "user"}], "completion": "7"}]))


@case("train-top-level-string", "an SFT line that is a JSON string", "expected a JSON object")
def _(ctx):
    return train_argv(ctx, ctx.write("sft.jsonl", "\"prompt\"\n"))


@case("train-empty-data", "an empty SFT file", "no SFT examples")
def _(ctx):
    return train_argv(ctx, ctx.write("sft.jsonl", ""))


@case("train-non-utf8-data", "an SFT file that is not UTF-8", "sft.jsonl:1")
def _(ctx):
    return train_argv(ctx, ctx.write("sft.jsonl", b'{"prompt": "caf\xe9", "completion": "7"}\n'))


@case("train-missing-model", "--model folder that does not exist", "/nonexistent")
def _(ctx):
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [GOOD_SFT]), model="/nonexistent/model")


@case("train-empty-model-folder", "--model folder with no model in it", "config.json")
def _(ctx):
    (ctx.work / "empty").mkdir()
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [GOOD_SFT]), model=str(ctx.work / "empty"))


@case("train-set-unknown-key", "--set train.nope=1", "nope")
def _(ctx):
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [GOOD_SFT]), "--set", "train.nope=1")


@case("train-set-wrong-type", "--set train.learning_rate=fast", "learning_rate")
def _(ctx):
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [GOOD_SFT]), "--set", "train.learning_rate=fast")


@case("train-set-other-section", "--set eval.n=0: a section train does not use is still checked", "eval.n")
def _(ctx):
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [GOOD_SFT]), "--set", "eval.n=0")


@case("train-conflicting-lora", "--lora together with --set train.use_lora=false", "use_lora")
def _(ctx):
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [GOOD_SFT]), "--lora", "--set", "train.use_lora=false")


@case("train-output-dir-is-file", "--output-dir names an existing file", "train-out")
def _(ctx):
    ctx.write("train-out", "not a folder\n")
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [GOOD_SFT]))


# --------------------------------------------------------------------------- harness teacher

@case("teacher-s1k-malformed", "an s1K JSONL with a broken line", "s1k.jsonl:1", "malformed JSON")
def _(ctx):
    return ["teacher", "--source", "s1k", "--dataset", str(ctx.write("s1k.jsonl", "{\n")), "--json", str(ctx.json_out)]


@case("teacher-s1k-missing-column", "an s1K JSONL without the DeepSeek columns", "deepseek")
def _(ctx):
    path = ctx.jsonl("s1k.jsonl", [{"question": "What is 3 + 4?", "solution": "\\boxed{7}"}])
    return ["teacher", "--source", "s1k", "--dataset", str(path), "--json", str(ctx.json_out)]


@case("teacher-s1k-later-row-missing", "an s1K JSONL whose second row has no question", "question")
def _(ctx):
    row = {"question": "What is 3 + 4?", "solution": "\\boxed{7}", "deepseek_thinking_trajectory": "3 + 4 = 7.",
           "deepseek_attempt": "\\boxed{7}"}
    path = ctx.jsonl("s1k.jsonl", [row, {k: v for k, v in row.items() if k != "question"}])
    return ["teacher", "--source", "s1k", "--dataset", str(path), "--json", str(ctx.json_out)]


@case("teacher-problems-missing-field", "teacher problems without an answer", "'answer'")
def _(ctx):
    path = ctx.jsonl("problems.jsonl", [{"id": "t1", "problem": "What is 3 + 4?"}])
    return ["teacher", "--source", "model", "--model", str(ctx.model), "--problems", str(path), "--json", str(ctx.json_out)]


@case("teacher-problems-nan-answer", "teacher problems whose answer is NaN (not JSON)", "problems.jsonl:1", "NaN")
def _(ctx):
    path = ctx.write("problems.jsonl", '{"id": "t1", "problem": "0/0?", "answer": NaN}\n')
    return ["teacher", "--source", "model", "--model", str(ctx.model), "--problems", str(path), "--json", str(ctx.json_out)]


@case("teacher-problems-duplicate-ids", "teacher problems sharing an id", "not unique")
def _(ctx):
    path = ctx.jsonl("problems.jsonl", [GOOD_PROBLEM, GOOD_PROBLEM])
    return ["teacher", "--source", "model", "--model", str(ctx.model), "--problems", str(path), "--json", str(ctx.json_out)]


@case("teacher-negative-limit", "--limit -1", "limit")
def _(ctx):
    path = ctx.jsonl("problems.jsonl", [GOOD_PROBLEM])
    return ["teacher", "--source", "model", "--model", str(ctx.model), "--problems", str(path), "--limit", "-1",
            "--json", str(ctx.json_out)]


@case("teacher-n-zero", "--n 0 teacher samples per problem", "teacher.n")
def _(ctx):
    path = ctx.jsonl("problems.jsonl", [GOOD_PROBLEM])
    return ["teacher", "--source", "model", "--model", str(ctx.model), "--problems", str(path), "--n", "0",
            "--json", str(ctx.json_out)]


@case("teacher-unknown-source", "teacher.source=nope through --set", "nope")
def _(ctx):
    return ["teacher", "--set", "teacher.source=nope", "--json", str(ctx.json_out)]


@case("teacher-num-problems-zero", "teacher.num_problems=0", "teacher.num_problems")
def _(ctx):
    return ["teacher", "--set", "teacher.num_problems=0", "--json", str(ctx.json_out)]


# --------------------------------------------------------------------------- harness train, bootstrap

@case("train-negative-learning-rate", "harness train --set train.learning_rate=-1", "train.learning_rate")
def _(ctx):
    return train_argv(ctx, ctx.jsonl("sft.jsonl", [GOOD_SFT]), "--set", "train.learning_rate=-1")


@case("bootstrap-negative-seed", "harness bootstrap --seed -1", "world.seed")
def _(ctx):
    return ["bootstrap", "--seed", "-1"]

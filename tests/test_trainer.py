"""The shared trainer: completion-only loss, truncation report, LoRA merge, resume after a kill."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness.config import TrainConfig
from harness.errors import HarnessError
from harness.trainer import CHECKPOINTS, REPORT, build_trainer, load_sft_records, train_sft

FAST = TrainConfig(learning_rate=3e-3, num_train_epochs=2, per_device_train_batch_size=8, warmup_ratio=0.0,
                   max_length=128, save_steps=1000, logging_steps=2)


def write_sft(path: Path, n: int, seed: int = 0, long_every: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w") as fh:
        for i in range(n):
            a, b = rng.randint(1, 50), rng.randint(1, 50)
            text = f"{a} + {b} = {a + b}. The answer is \\boxed{{{a + b}}}."
            if long_every and i % long_every == 0:
                text = " ".join([text] * 20)
            fh.write(json.dumps({
                "id": str(i),
                "prompt": [{"role": "user", "content": f"Tom has {a} apples and buys {b} more."}],
                "completion": [{"role": "assistant", "content": text}],
            }) + "\n")
    return path


def test_prompt_tokens_carry_no_loss(tiny_model_dir, tmp_path):
    data = write_sft(tmp_path / "sft.jsonl", 8)
    records = load_sft_records(data)
    trainer = build_trainer(str(tiny_model_dir), records, tmp_path / "out", FAST)
    batch = next(iter(trainer.get_train_dataloader()))
    tok = trainer.processing_class
    assistant_start = tok.convert_tokens_to_ids("<|im_start|>")
    for ids, labels, mask in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), batch["attention_mask"].tolist()):
        n = sum(mask)
        ids, labels = ids[:n], labels[:n]  # right padding
        # the prompt ends with the generation prompt "<|im_start|>assistant\n": the last <|im_start|>
        last_start = max(i for i, t in enumerate(ids) if t == assistant_start)
        boundary = last_start + len(tok("assistant\n", add_special_tokens=False)["input_ids"]) + 1
        assert all(label == -100 for label in labels[:boundary]), "prompt tokens must carry no loss"
        assert labels[boundary:] == ids[boundary:], "every completion token must carry loss"
        assert "\\boxed" in tok.decode(ids[boundary:])


def test_truncation_is_reported(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    from harness.trainer import length_report

    records = load_sft_records(write_sft(tmp_path / "sft.jsonl", 10, long_every=5))
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    report = length_report(records, tok, max_length=128)
    lengths = [len(tok.apply_chat_template(r["prompt"] + r["completion"], tokenize=True)["input_ids"]) for r in records]
    assert report["truncated"] == sum(n > 128 for n in lengths) == 2
    assert report["truncated_tokens"] == sum(n - 128 for n in lengths if n > 128)
    assert report["train_tokens"] == sum(min(n, 128) for n in lengths)


def test_train_full_lowers_loss_and_writes_clean_folder(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    data = write_sft(tmp_path / "sft.jsonl", 64)
    out = tmp_path / "out"
    report = train_sft(str(tiny_model_dir), data, out, replace(FAST, num_train_epochs=4), seed=0)
    assert report["examples"] == 64 and report["truncated"] == 0
    assert report["final_loss"] < report["initial_loss"]
    for name in ("config.json", "model.safetensors", "generation_config.json", "tokenizer_config.json", REPORT):
        assert (out / name).is_file(), name
    assert not (out / CHECKPOINTS).exists() and not (out / "training_args.bin").exists()
    for file in out.iterdir():  # nothing written names where it ran
        assert str(tmp_path) not in file.read_bytes().decode("utf-8", "ignore"), file.name
    AutoModelForCausalLM.from_pretrained(out)
    AutoTokenizer.from_pretrained(out)
    # a finished folder with the same inputs is reused, not retrained
    assert train_sft(str(tiny_model_dir), data, out, replace(FAST, num_train_epochs=4))["runtime_s"] == report["runtime_s"]


def test_lora_merged_folder_loads_and_generates(tiny_model_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    data = write_sft(tmp_path / "sft.jsonl", 16)
    out = tmp_path / "lora"
    cfg = replace(FAST, use_lora=True, lora_r=4, lora_alpha=8, num_train_epochs=1)
    report = train_sft(str(tiny_model_dir), data, out, cfg)
    assert report["lora"] is True
    assert not (out / "adapter_config.json").exists(), "the merged folder is a plain model"
    assert (out / "generation_config.json").is_file() and not (out / CHECKPOINTS).exists()
    for file in out.iterdir():
        assert str(tmp_path) not in file.read_bytes().decode("utf-8", "ignore"), file.name
    model = AutoModelForCausalLM.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    changed = any(not torch.equal(p, base.state_dict()[k]) for k, p in model.state_dict().items())
    assert changed, "merging the adapter must change some weights"
    tok = AutoTokenizer.from_pretrained(out)
    ids = tok.apply_chat_template([{"role": "user", "content": "Tom has 3 apples"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    gen = model.generate(**ids, max_new_tokens=5, do_sample=False)
    assert gen.shape[1] > ids["input_ids"].shape[1]


def test_empty_and_missing_inputs_are_user_errors(tiny_model_dir, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(HarnessError, match="no SFT examples"):
        train_sft(str(tiny_model_dir), empty, tmp_path / "o", FAST)
    with pytest.raises(HarnessError, match="not found"):
        train_sft(str(tiny_model_dir), tmp_path / "nope.jsonl", tmp_path / "o", FAST)
    with pytest.raises(HarnessError, match="model folder not found"):
        train_sft(str(tmp_path / "no-model"), write_sft(tmp_path / "d.jsonl", 2), tmp_path / "o", FAST)
    with pytest.raises(HarnessError, match="every prompt fills train.max_length=8"):
        train_sft(str(tiny_model_dir), write_sft(tmp_path / "d.jsonl", 2), tmp_path / "o", replace(FAST, max_length=8))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": [], "completion": "x"}) + "\n")
    with pytest.raises(HarnessError, match="bad.jsonl:1"):
        train_sft(str(tiny_model_dir), bad, tmp_path / "o", FAST)


def test_killed_training_resumes_from_last_checkpoint(tiny_model_dir, tmp_path):
    data = write_sft(tmp_path / "sft.jsonl", 48)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "harness.trainer", "--model", str(tiny_model_dir), "--data", str(data),
           "--output-dir", str(out), "--set", "train.per_device_train_batch_size=4", "--set", "train.save_steps=3",
           "--set", "train.num_train_epochs=2", "--set", "train.max_length=128", "--set", "train.logging_steps=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    ckpts = out / CHECKPOINTS
    while time.time() < deadline and not list(ckpts.glob("checkpoint-3/trainer_state.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = sorted(int(p.name.split("-")[1]) for p in ckpts.glob("checkpoint-*") if (p / "trainer_state.json").is_file())
    assert saved and not (out / REPORT).exists(), "the run must have been killed mid-way"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / REPORT).read_text())
    assert report["resumed_from_step"] == max(saved)
    assert report["steps"] == 24
    # transformers' token counter is restored from the checkpoint: two whole epochs, counted once
    assert report["trained_tokens"] == 2 * report["train_tokens"] and report["examples_seen"] == 2 * 48


@pytest.mark.slow
@pytest.mark.beyond_ci("trains the default recipe on 300 traces (about 45 s on 2 cores); the default suite "
                       "covers the trainer at toy size and CI's 15 minutes go to the end-to-end checks")
def test_few_hundred_synthetic_traces_train_with_the_default_recipe(tmp_path):
    """The default recipe on the tiny student size with 300 synthetic long-CoT examples (most cut at 256 tokens)."""
    from harness.config import WorldConfig
    from harness.synth.models import build_model
    from harness.synth.teacher import synth_traces
    from harness.synth.world import build_tokenizer

    world = WorldConfig()
    tokenizer = build_tokenizer(world)  # the built-in student's own tokenizer, so lengths are realistic
    model = tmp_path / "tiny"
    build_model(tokenizer, size="tiny", context_length=world.context_length).save_pretrained(model)
    tokenizer.save_pretrained(model)
    data = tmp_path / "sft.jsonl"
    with data.open("w") as fh:
        for rec in synth_traces(world, 300):
            fh.write(json.dumps({"prompt": [{"role": "user", "content": rec["problem"]}],
                                 "completion": [{"role": "assistant", "content": rec["long_cot"]}]}) + "\n")
    started, cpu_started = time.time(), time.process_time()
    report = train_sft(str(model), data, tmp_path / "out", TrainConfig())
    elapsed, cpu = time.time() - started, time.process_time() - cpu_started
    print(f"300 synthetic traces, default TrainConfig, tiny student: {elapsed:.1f}s wall, {cpu:.1f}s CPU, {report['steps']} steps, "
          f"{report['train_tokens']} tokens/epoch, {report['truncated']} cut, {report['dropped_fully_truncated']} dropped, loss {report['initial_loss']:.3f} -> {report['final_loss']:.3f}")
    assert report["final_loss"] < report["initial_loss"] - 0.5  # the time it took is printed, not asserted


def test_torn_checkpoint_is_skipped(tmp_path):
    from harness.trainer import last_complete_checkpoint

    ckpts = tmp_path / CHECKPOINTS
    assert last_complete_checkpoint(ckpts) is None
    for step, complete in ((3, True), (6, True), (9, False)):
        folder = ckpts / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert Path(last_complete_checkpoint(ckpts)).name == "checkpoint-6"
    assert not (ckpts / "checkpoint-9").exists()


def test_train_cli_errors_are_one_line(tmp_path, capsys):
    from harness.cli import main

    data = write_sft(tmp_path / "sft.jsonl", 2)
    cases = [
        (["--model", str(tmp_path / "none"), "--data", str(data)], "model folder not found"),
        (["--model", str(tmp_path), "--data", str(tmp_path / "x.jsonl")], "SFT data file not found"),
        (["--model", str(tmp_path), "--data", str(data), "--set", "eval.n=0"], "eval.n must be at least 1"),
        (["--model", str(tmp_path), "--data", str(data), "--set", "train.nope=1"], "unknown key 'nope'"),
    ]
    for args, message in cases:
        assert main(["train", *args, "--output-dir", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err and "Traceback" not in err


def test_resume_inside_a_logging_interval_reports_the_uninterrupted_losses(tiny_model_dir, tmp_path, monkeypatch):
    """A checkpoint (step 5) inside a logging interval (4, 6]: after resuming from it the report's
    losses must match an uninterrupted run's, not just the steps run since the resume."""
    import harness.trainer as trainer_mod

    data = write_sft(tmp_path / "sft.jsonl", 24)
    cfg = replace(FAST, num_train_epochs=1, per_device_train_batch_size=4, save_steps=5, logging_steps=4)
    reference = train_sft(str(tiny_model_dir), data, tmp_path / "ref", cfg)

    def killed(*args, **kwargs):  # stands in for a kill after the last step, before the model folder is saved
        raise KeyboardInterrupt

    out = tmp_path / "out"
    monkeypatch.setattr(trainer_mod, "_save_model", killed)
    with pytest.raises(KeyboardInterrupt):
        train_sft(str(tiny_model_dir), data, out, cfg)
    monkeypatch.undo()
    import shutil

    shutil.rmtree(out / CHECKPOINTS / "checkpoint-6")  # as if killed before the final save
    assert (out / CHECKPOINTS / "checkpoint-5" / "trainer_state.json").is_file()
    resumed = train_sft(str(tiny_model_dir), data, out, cfg)
    assert resumed["resumed_from_step"] == 5 and resumed["steps"] == reference["steps"] == 6
    for key in ("initial_loss", "final_loss", "mean_train_loss"):
        assert resumed[key] == pytest.approx(reference[key], abs=1e-6), key
    for key in ("trained_tokens", "examples_seen"):
        assert resumed[key] == reference[key], key


def test_mean_logged_loss_weights_intervals_by_their_steps():
    from harness.trainer import mean_logged_loss

    history = [{"loss": 4.0, "step": 1}, {"loss": 2.0, "step": 4}, {"loss": 1.0, "step": 5}, {"train_loss": 9.0, "step": 5}]
    assert mean_logged_loss(history) == pytest.approx((4.0 + 3 * 2.0 + 1.0) / 5)
    assert mean_logged_loss([]) is None


def test_checkpoint_with_torn_trainer_state_is_skipped(tmp_path):
    from harness.trainer import last_complete_checkpoint

    ckpts = tmp_path / CHECKPOINTS
    for step, state in ((2, "{}"), (4, '{"global_step": 4, "log_hi')):  # killed while writing step 4's state
        (ckpts / f"checkpoint-{step}").mkdir(parents=True)
        (ckpts / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    assert Path(last_complete_checkpoint(ckpts)).name == "checkpoint-2"


def test_checkpoints_of_other_inputs_are_not_resumed(tmp_path):
    from harness.training.checkpoints import claim_checkpoints

    ckpts = tmp_path / CHECKPOINTS
    (ckpts / "checkpoint-3").mkdir(parents=True)
    (ckpts / "checkpoint-3" / "trainer_state.json").write_text("{}")
    claim_checkpoints(ckpts, "run-b")  # left by a killed run of unknown inputs
    assert not (ckpts / "checkpoint-3").exists()
    (ckpts / "checkpoint-3").mkdir()
    claim_checkpoints(ckpts, "run-b")  # the same run's own checkpoints stay
    assert (ckpts / "checkpoint-3").exists()
    claim_checkpoints(ckpts, "run-c")
    assert not (ckpts / "checkpoint-3").exists() and (ckpts / "run_id").read_text().strip() == "run-c"


def test_kill_after_the_report_only_leaves_cleanup_to_do(tiny_model_dir, tmp_path):
    data = write_sft(tmp_path / "sft.jsonl", 8)
    cfg = replace(FAST, num_train_epochs=1)
    first = train_sft(str(tiny_model_dir), data, tmp_path / "out", cfg)
    left = tmp_path / "out" / CHECKPOINTS / "checkpoint-1"  # a half-deleted checkpoint from the final cleanup
    left.mkdir(parents=True)
    (left / "trainer_state.json").write_text("{}")
    assert train_sft(str(tiny_model_dir), data, tmp_path / "out", cfg) == first
    assert not (tmp_path / "out" / CHECKPOINTS).exists()


# ---------------------------------------------------------------- the training budget

REPORTED = ("budget", "max_steps", "steps", "epochs", "examples", "examples_seen", "trained_tokens", "train_tokens",
            "truncated")


def test_steps_budget_trains_every_data_size_for_exactly_max_steps(tiny_model_dir, tmp_path):
    """Two methods keeping 5 and 50 examples both run max_steps optimizer steps; the small one cycles its data."""
    cfg = replace(FAST, budget="steps", max_steps=7, num_train_epochs=1, per_device_train_batch_size=4,
                  gradient_accumulation_steps=2)
    small = train_sft(str(tiny_model_dir), write_sft(tmp_path / "small.jsonl", 5, long_every=3), tmp_path / "s", cfg)
    large = train_sft(str(tiny_model_dir), write_sft(tmp_path / "large.jsonl", 50, long_every=3), tmp_path / "l", cfg)
    for report in (small, large):
        assert report["budget"] == "steps" and report["max_steps"] == 7 and report["steps"] == 7
        assert report["truncated"] > 0  # the counts below hold with cut examples too
    # 5 examples: one step (batches of 4 and 1) per epoch, so 7 epochs; num_train_epochs=1 is not used.
    assert small["examples"] == 5 and small["epochs"] == 7.0
    assert small["examples_seen"] == 7 * 5 and small["trained_tokens"] == 7 * small["train_tokens"]
    # 50 examples: 13 batches of 4 make 7 steps of 2, so 7 steps are exactly one epoch.
    assert large["examples"] == 50 and large["epochs"] == 1.0
    assert large["examples_seen"] == 50 and large["trained_tokens"] == large["train_tokens"]


def test_steps_budget_stops_inside_an_epoch(tiny_model_dir, tmp_path):
    cfg = replace(FAST, budget="steps", max_steps=5, per_device_train_batch_size=4)
    report = train_sft(str(tiny_model_dir), write_sft(tmp_path / "d.jsonl", 40), tmp_path / "o", cfg)
    # 10 steps per epoch: half an epoch, 5 full batches of 4
    assert report["steps"] == 5 and report["epochs"] == 0.5 and report["examples_seen"] == 20
    assert 0 < report["trained_tokens"] < report["train_tokens"]


def test_epochs_budget_counts_what_it_trained_on(tiny_model_dir, tmp_path):
    cfg = replace(FAST, num_train_epochs=2, per_device_train_batch_size=4, max_steps=1)  # max_steps unused here
    report = train_sft(str(tiny_model_dir), write_sft(tmp_path / "d.jsonl", 10, long_every=3), tmp_path / "o", cfg)
    assert {k: report[k] for k in ("budget", "max_steps", "steps", "examples", "examples_seen")} == \
        {"budget": "epochs", "max_steps": None, "steps": 6, "examples": 10, "examples_seen": 20}
    # transformers' non-padding counter agrees with the chat-template token count of the data
    assert report["trained_tokens"] == 2 * report["train_tokens"]


def test_examples_seen_matches_the_batches_the_model_got(tiny_model_dir, tmp_path):
    """The reported count against the batches actually collated, with accumulation and a short last batch."""
    records = load_sft_records(write_sft(tmp_path / "d.jsonl", 11))
    cfg = replace(FAST, budget="steps", max_steps=4, per_device_train_batch_size=3, gradient_accumulation_steps=2)
    trainer = build_trainer(str(tiny_model_dir), records, tmp_path / "o", cfg)
    seen = []
    collate = trainer.data_collator
    trainer.data_collator = lambda features: (seen.append(len(features)), collate(features))[1]
    trainer.train()
    from harness.trainer import examples_seen

    # 4 batches per epoch (3, 3, 3, 2) make 2 steps; 4 steps are 2 epochs
    assert trainer.state.global_step == 4 and examples_seen(trainer) == sum(seen) == 22


def test_warmup_ratio_applies_to_max_steps(tiny_model_dir, tmp_path):
    records = load_sft_records(write_sft(tmp_path / "d.jsonl", 4))
    cfg = replace(FAST, budget="steps", max_steps=10, warmup_ratio=0.3, logging_steps=1, lr_scheduler_type="linear")
    trainer = build_trainer(str(tiny_model_dir), records, tmp_path / "o", cfg)
    trainer.train()
    lrs = [e["learning_rate"] for e in trainer.state.log_history if "learning_rate" in e]
    # 3 warm-up steps (0.3 of the 10 max_steps, not of one epoch's single step), then 7 of decay;
    # each logged rate is the one its step used
    assert len(lrs) == 10 and lrs.index(max(lrs)) == 3
    assert lrs[:4] == pytest.approx([0.0, 1e-3, 2e-3, 3e-3]) and lrs[-1] < lrs[4]


def test_steps_budget_resume_counts_like_an_uninterrupted_run(tiny_model_dir, tmp_path, monkeypatch):
    """Resuming from a checkpoint in the middle of a cycled epoch: the same steps, examples and tokens."""
    import shutil

    import harness.trainer as trainer_mod

    data = write_sft(tmp_path / "sft.jsonl", 10, long_every=4)
    cfg = replace(FAST, budget="steps", max_steps=8, per_device_train_batch_size=4, save_steps=4, logging_steps=3)
    reference = train_sft(str(tiny_model_dir), data, tmp_path / "ref", cfg)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "out"
    monkeypatch.setattr(trainer_mod, "_save_model", killed)
    with pytest.raises(KeyboardInterrupt):
        train_sft(str(tiny_model_dir), data, out, cfg)
    monkeypatch.undo()
    shutil.rmtree(out / CHECKPOINTS / "checkpoint-8")  # as if killed after step 4's checkpoint
    resumed = train_sft(str(tiny_model_dir), data, out, cfg)
    assert resumed["resumed_from_step"] == 4  # 3 steps per epoch: inside the second epoch
    for key in ("steps", "epochs", "examples_seen", "trained_tokens", "final_loss"):
        assert resumed[key] == pytest.approx(reference[key]), key
    assert reference["steps"] == 8 and reference["examples_seen"] == 2 * 10 + 2 * 4


def test_budget_is_checked_before_the_model_loads(tmp_path):
    with pytest.raises(HarnessError, match="train.budget=steps needs train.max_steps"):
        train_sft(str(tmp_path), write_sft(tmp_path / "d.jsonl", 2), tmp_path / "o", replace(FAST, budget="steps"))


def test_train_key_holds_the_budget_and_nothing_it_does_not_use():
    from harness.config import parse_override, resolve_run_config
    from harness.keys import train_inputs
    from harness.store import hash_key

    def key(*overrides, preset=None):
        cfg = resolve_run_config(preset=preset, overrides=[parse_override(o) for o in overrides])
        return hash_key(train_inputs(cfg, "method-key", "student"))

    steps = key()  # the synthetic preset: budget=steps
    assert key("train.max_steps=41") != steps
    assert key("train.budget=epochs") != steps
    assert key("train.num_train_epochs=1") == steps  # not used under steps
    epochs = key("train.budget=epochs")
    assert key("train.budget=epochs", "train.num_train_epochs=1") != epochs
    assert key("train.budget=epochs", "train.max_steps=7") == epochs  # not used under epochs
    for unused in ("train.lora_r=4", "train.lora_alpha=3", "train.lora_dropout=0.2", "train.lora_target_modules=q_proj",
                   "train.save_steps=7", "train.logging_steps=3"):
        assert key(unused) == steps, unused
    lora = key("train.use_lora=true")
    assert lora != steps and key("train.use_lora=true", "train.lora_r=4") != lora
    for used in ("train.learning_rate=7e-4", "train.per_device_train_batch_size=8", "train.gradient_accumulation_steps=2",
                 "train.warmup_ratio=0.2", "train.max_length=128", "train.lr_scheduler_type=linear", "seed=1"):
        assert key(used) != steps, used


def test_training_progress_goes_through_the_harness_log_not_raw_dicts(tiny_model_dir, tmp_path, capfd):
    """TRL's printer wrote `{'loss': ...}` dicts to stdout (issue #14): each logged step is one log line now."""
    cfg = replace(FAST, budget="steps", max_steps=3, logging_steps=1)
    train_sft(str(tiny_model_dir), write_sft(tmp_path / "d.jsonl", 8), tmp_path / "o", cfg)
    out, err = capfd.readouterr()
    assert "loss" not in out and "{'" not in err
    steps = [line for line in err.splitlines() if " train step " in line]
    assert [line.split(" train step ")[1].split(" ")[0] for line in steps][:3] == ["1/3", "2/3", "3/3"]
    assert "loss " in steps[0] and any("train steps: 3/3 (100%)" in line for line in err.splitlines())

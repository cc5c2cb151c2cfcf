"""The one SFT recipe every method shares: TRL `SFTTrainer`, loss on completion tokens only.

Data is an SFT JSONL of conversational prompt-completion records
(`{"id", "prompt": [{"role": "user", ...}], "completion": [{"role": "assistant", ...}]}`).
TRL renders each record with the student's own chat template and, with
`completion_only_loss`, sets the labels of every prompt token to -100.

The function is a plain Trainer run, so it works unchanged under `accelerate launch`
(multi-GPU, DeepSpeed, FSDP) through the module entry point:

    accelerate launch -m harness.trainer --model M --data sft.jsonl --output-dir OUT [--set train.x=y]

Checkpoints go to `output_dir/checkpoints` (a killed run resumes from the last one) and are
removed once the final model folder (weights, tokenizer, generation config; merged for LoRA)
and `train_report.json` are written, so nothing left behind names an absolute path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.command_config import train_config_from
from harness.config import TrainConfig
from harness.console import log
from harness.errors import HarnessError
from harness.fingerprint import looks_like_path
from harness.flag_names import CommandFlags, use_flags
from harness.jsonl import read_json, write_json
from harness.training.callbacks import (epoch_length_callback, examples_seen, log_last_step_callback,
                                        mean_logged_loss, progress_log_callback)
from harness.training.checkpoints import claim_checkpoints, last_complete_checkpoint
from harness.training.data import length_report, load_sft_records

__all__ = ["CHECKPOINTS", "REPORT", "build_trainer", "budget_line", "examples_seen", "last_complete_checkpoint",
           "length_report", "load_sft_records", "main", "mean_logged_loss", "train_config_from", "train_sft"]

REPORT = "train_report.json"
CHECKPOINTS = "checkpoints"


def _run_id(model: str, data: Path, cfg: TrainConfig, seed: int) -> str:
    """What a finished output folder was trained from, to reuse it only for the same run."""
    from harness.fingerprint import model_fingerprint

    digest = hashlib.sha256(Path(data).read_bytes())
    digest.update(json.dumps({"model": model_fingerprint(model), "cfg": asdict(cfg), "seed": seed}, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def build_trainer(model: str, records: list[dict[str, Any]], output_dir: Path, cfg: TrainConfig, seed: int = 0):
    """The SFTTrainer `train_sft` runs; exposed so tests can inspect the exact collated batches."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    cfg.check("train")
    if cfg.bf16:
        from harness.training.device import bf16_problem

        problem = bf16_problem()  # transformers' own refusal is a ValueError with a traceback
        if problem:
            raise HarnessError(problem)
    tokenizer = AutoTokenizer.from_pretrained(model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    args = SFTConfig(
        output_dir=str(output_dir / CHECKPOINTS),
        completion_only_loss=True,
        max_length=cfg.max_length,
        packing=False,
        learning_rate=cfg.learning_rate,
        # budget=steps: exactly max_steps optimizer steps, the data cycled as often as needed
        # (transformers lets max_steps > 0 override num_train_epochs); budget=epochs: -1, unused.
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps if cfg.budget == "steps" else -1,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        warmup_steps=float(cfg.warmup_ratio),  # transformers 5: a float below 1 is a ratio of total steps
        lr_scheduler_type=cfg.lr_scheduler_type,
        weight_decay=cfg.weight_decay,
        bf16=cfg.bf16,
        activation_checkpointing=cfg.gradient_checkpointing,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,  # the first step's own loss is the report's initial_loss
        # Count non-padding input tokens as they go through the model; the count lives in the
        # TrainerState, so it is saved with each checkpoint and restored on resume.
        include_num_input_tokens_seen="non_padding",
        seed=seed,
        data_seed=seed,
        report_to="none",
        disable_tqdm=True,  # progress goes through harness.console (ProgressLog), not a tqdm bar
        dataloader_pin_memory=False,
        model_init_kwargs={"dtype": "bfloat16" if cfg.bf16 else "float32"},
    )
    peft_config = None
    if cfg.use_lora:
        from peft import LoraConfig

        targets = cfg.lora_target_modules
        peft_config = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=targets[0] if targets == ["all-linear"] else targets,
            task_type="CAUSAL_LM",
        )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(records),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[log_last_step_callback(), epoch_length_callback(), progress_log_callback()],
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for printer in (PrinterCallback, ProgressCallback):  # they print raw loss dicts to stdout
        trainer.remove_callback(printer)
    return trainer


def train_sft(model: str, data: Path, output_dir: Path, cfg: TrainConfig, seed: int = 0) -> dict[str, Any]:
    """Fine-tune `model` on the SFT JSONL `data`; write a model folder to `output_dir`; return a report."""
    data, output_dir = Path(data), Path(output_dir)
    cfg.check("train")
    if not data.is_file():
        raise HarnessError(f"SFT data file not found: {data}")
    if looks_like_path(model) and not Path(model).expanduser().is_dir():
        raise HarnessError(f"model folder not found: {model}")
    if output_dir.exists() and not output_dir.is_dir():
        raise HarnessError(f"--output-dir exists and is not a folder: {output_dir}")
    run_id = _run_id(model, data, cfg, seed)
    done = output_dir / REPORT
    ckpt_dir = output_dir / CHECKPOINTS
    if done.is_file() and read_json(done).get("run_id") == run_id:
        shutil.rmtree(ckpt_dir, ignore_errors=True)  # a kill between the report and the cleanup left them
        return read_json(done)  # finished earlier with these exact inputs
    claim_checkpoints(ckpt_dir, run_id)

    records = load_sft_records(data)
    started = time.time()
    trainer = build_trainer(model, records, output_dir, cfg, seed)
    report = length_report(records, trainer.processing_class, cfg.max_length)
    report["dropped_fully_truncated"] = len(records) - len(trainer.train_dataset)
    if len(trainer.train_dataset) == 0:
        raise HarnessError(f"every prompt fills train.max_length={cfg.max_length}: no completion token left to train on")
    last = last_complete_checkpoint(ckpt_dir)
    if trainer.is_world_process_zero():
        log(budget_line(cfg, len(trainer.train_dataset)))
    result = trainer.train(resume_from_checkpoint=last)
    _save_model(trainer, model, output_dir, cfg)

    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    report.update(
        run_id=run_id,
        resumed_from_step=int(Path(last).name.split("-")[-1]) if last else None,
        budget=cfg.budget,
        max_steps=cfg.max_steps if cfg.budget == "steps" else None,
        steps=trainer.state.global_step,
        epochs=trainer.state.epoch,
        examples_seen=examples_seen(trainer),
        trained_tokens=int(trainer.state.num_input_tokens_seen),
        trained_tokens_counts="non-padding prompt+completion tokens through the model, all steps (transformers' counter)",
        initial_loss=losses[0] if losses else None,
        final_loss=losses[-1] if losses else None,
        mean_train_loss=mean_logged_loss(trainer.state.log_history) if losses else result.training_loss,
        runtime_s=round(time.time() - started, 2),
        lora=cfg.use_lora,
        seed=seed,
    )
    if trainer.is_world_process_zero():
        # The report first: a kill mid-delete must not leave a half-deleted checkpoint that a
        # rerun would resume from; with the report written, a rerun only finishes the cleanup.
        write_json(done, report)
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return report


def budget_line(cfg: TrainConfig, examples: int) -> str:
    """One log line saying how long this run trains and which setting decides it."""
    if cfg.budget == "steps":
        return (f"training budget: {cfg.max_steps} optimizer steps on {examples} examples "
                f"(train.budget=steps; train.num_train_epochs is not used)")
    return (f"training budget: {cfg.num_train_epochs:g} epochs of {examples} examples "
            f"(train.budget=epochs; the step count follows the data size)")


def _save_model(trainer: Any, model: str, output_dir: Path, cfg: TrainConfig) -> None:
    """A standard model folder; LoRA adapters are merged into the base so eval loads one folder."""
    tokenizer = trainer.processing_class
    if not cfg.use_lora:
        trainer.save_model(str(output_dir))  # gathers sharded (DeepSpeed/FSDP) weights
        (output_dir / "training_args.bin").unlink(missing_ok=True)  # it pickles absolute paths
    else:
        adapter_dir = output_dir / CHECKPOINTS / "adapter"
        trainer.save_model(str(adapter_dir))
        trainer.accelerator.wait_for_everyone()
        if trainer.is_world_process_zero():
            from peft import AutoPeftModelForCausalLM

            merged = AutoPeftModelForCausalLM.from_pretrained(str(adapter_dir)).merge_and_unload()
            merged.save_pretrained(str(output_dir))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(output_dir))
        gen = trainer.accelerator.unwrap_model(trainer.model).generation_config
        if gen is not None and not (output_dir / "generation_config.json").is_file():
            gen.save_pretrained(str(output_dir))
    trainer.accelerator.wait_for_everyone()


def main(argv: list[str] | None = None) -> int:
    """`python -m harness.trainer` / `accelerate launch -m harness.trainer`: train on a file."""
    parser = argparse.ArgumentParser(prog="python -m harness.trainer", description=train_sft.__doc__)
    parser.add_argument("--model", required=True, help="local model folder or Hub id")
    parser.add_argument("--data", required=True, help="SFT JSONL (TRL conversational prompt-completion)")
    parser.add_argument("--output-dir", required=True, help="where the trained model folder goes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lora", action="store_true", help="shortcut for --set train.use_lora=true")
    parser.add_argument("--preset", help="preset whose train section to use (default: none, the built-in defaults)")
    parser.add_argument("--config", metavar="FILE", help="YAML config file (on top of --preset)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        with use_flags(CommandFlags(takes_set=True)):
            cfg = train_config_from(args.overrides, args.lora, args.preset, args.config)
            report = train_sft(args.model, Path(args.data), Path(args.output_dir), cfg, seed=args.seed)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`harness train`: fine-tune a model on an SFT JSONL file with the shared trainer.

The same recipe `harness run` uses (`harness.trainer.train_sft`), from the same config
layers (--preset, --config, --set); multi-GPU runs go through `accelerate launch -m
harness.trainer` with the same flags.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.errors import HarnessError
from harness.fingerprint import looks_like_path
from harness.flag_names import CommandFlags

HELP = "Fine-tune a model on an SFT JSONL file with the shared trainer."


def add_parser(sub, parent) -> None:
    p = sub.add_parser("train", parents=[parent], help=HELP, description=HELP)
    p.add_argument("--model", required=True, metavar="PATH", help="model folder (or Hub id) to fine-tune")
    p.add_argument("--data", required=True, metavar="SFT.jsonl", help="TRL conversational prompt-completion JSONL")
    p.add_argument("--output-dir", required=True, metavar="DIR", help="where the trained model folder goes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lora", action="store_true", help="LoRA instead of full fine-tuning (a merged folder is written)")
    p.add_argument("--preset", help="preset whose train section to use (default: none, the built-in defaults)")
    p.add_argument("--config", metavar="FILE", help="YAML config file (applied on top of --preset if both are given)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set train.learning_rate=5e-4 (repeatable); only train.* "
                        "changes training, every section is checked")
    p.set_defaults(func=main, setting_flags=CommandFlags(takes_set=True))


def main(args: argparse.Namespace) -> int:
    from harness.console import console
    from harness.command_config import train_config_from
    from harness.trainer import train_sft

    cfg = train_config_from(args.overrides, args.lora, args.preset, args.config)  # settings first: no file is read
    if looks_like_path(args.model) and not Path(args.model).expanduser().is_dir():
        raise HarnessError(f"model folder not found: {args.model}")
    if not Path(args.data).is_file():
        raise HarnessError(f"SFT data file not found: {args.data}")
    report = train_sft(args.model, Path(args.data), Path(args.output_dir), cfg, seed=args.seed)
    console.print_json(json.dumps(report))
    return 0

"""`harness bootstrap`: Build the built-in synthetic world (problems, teacher, tokenizer, tiny students)."""

from __future__ import annotations

import time
from dataclasses import replace

from harness.config import WorldConfig, check_world
from harness.console import console
from harness.errors import HarnessError

HELP = "Build the built-in synthetic world (problems, teacher, tokenizer, tiny students)."


def add_parser(sub, parent) -> None:
    p = sub.add_parser("bootstrap", parents=[parent], help=HELP, description=HELP)
    p.add_argument("--student", "--size", dest="size", default="tiny", metavar="NAME",
                   help="which built-in student to build: tiny, small (several times larger) or all; "
                        "`synth:tiny` works too (default: tiny)")
    p.add_argument("--seed", type=int, default=None, help="world seed (default: WorldConfig.seed)")
    p.add_argument("--force", action="store_true", help="rebuild even if the store already holds this student")
    p.set_defaults(func=run)


def run(args) -> int:
    from harness.jsonl import read_json
    from harness.store import RunStore
    from harness.synth.world import STUDENT_SIZES, resolve_student, student_stage

    world = WorldConfig() if args.seed is None else replace(WorldConfig(), seed=args.seed)
    check_world(world)
    store = RunStore()
    name = args.size.removeprefix("synth:")
    if name not in (*STUDENT_SIZES, "all"):
        raise HarnessError(f"unknown built-in student {args.size!r} (known: {', '.join(STUDENT_SIZES)}, all)")
    sizes = STUDENT_SIZES if name == "all" else (name,)
    for size in sizes:
        stage = student_stage(world, store, size)
        t0 = time.time()
        with stage.lock():  # a second bootstrap (or run) waits for this one and reuses its student
            cached = stage.done and not args.force
            folder = resolve_student(f"synth:{size}", world, store, force=args.force)
        stats = read_json(student_stage(world, store, size).path / "stats.json")
        acc = stats.get("base_accuracy", {})
        accs = ", ".join(f"{tier} {v['accuracy']:.0%} (n={v['n']})" for tier, v in acc.items())
        how = "reused from the store" if cached else f"built in {time.time() - t0:.0f} s"
        console.print(f"[bold]synth:{size}[/] {how}: {folder}")
        console.print(
            f"  {stats['parameters']:,} parameters, vocabulary {stats['vocab_size']}, context {stats['context_length']}, "
            f"pretraining loss {stats['pretraining']['initial_loss']} -> {stats['pretraining']['final_loss']}, "
            f"build {stats['seconds']['total']} s"
        )
        if accs:
            console.print(f"  base greedy accuracy: {accs}")
    return 0

"""Pretraining data, loop and greedy evaluation for the built-in students.

The base student sees concise solutions of routine problems (pretrain stream) in exactly
the chat format the evaluation uses, plus examples whose assistant turn starts with a
prefix of the teacher's long CoT of a routine problem (no loss) and goes on concisely, so
it can continue a given partial answer (what P-ALIGN's rollouts ask of it). Half of those
are built around a change in words it never sees again (`harness.synth.novel`), so it learns
to go on past a change it cannot read. It never sees the key step of the target tier: that
is left for distillation to teach.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from harness.config import PAPER_INSTRUCTION, WorldConfig
from harness.console import progress
from harness.synth.novel import novel_spec
from harness.synth.problems import Spec, _rng, synth_specs
from harness.synth.teacher import concise_solution, continuation, teacher_sentences
from harness.synth.tokenizer import END_OF_TURN

PRETRAIN_TIER = "routine"
PREFIX_FRACTION = 0.25  # share of pretraining examples that continue a teacher-CoT prefix
# Of those, the share built around a novel change (harness.synth.novel), cut 0-2 sentences
# after its computation, so the student learns to go on past a change it cannot read.
NOVEL_FRACTION = 0.5
BATCH_SIZE = 8
# Peak learning rate per student size. 3e-3 was tuned for `tiny` with the world; at that rate
# the 5M-parameter `small` ends at loss 0.27 (tiny: 0.048) and solves 12% of routine problems,
# so it has its own (docs/synthetic-world.md, "The small student").
LEARNING_RATES = {"tiny": 3e-3, "small": 1e-3}


@dataclass
class Example:
    prompt: str  # the user turn as plain problem text
    prefix: str  # assistant text given (no loss), possibly empty
    target: str  # assistant text learned, without the end-of-turn token


def pretrain_specs(world: WorldConfig) -> list[Spec]:
    return synth_specs("pretrain", PRETRAIN_TIER, world.pretrain_problems, world.seed)


def pretrain_examples(world: WorldConfig) -> list[Example]:
    out = []
    for spec in pretrain_specs(world):
        rng = _rng(world.seed, "pretrain-example", spec.text)
        if rng.random() >= PREFIX_FRACTION:
            out.append(Example(spec.text, "", concise_solution(spec)))
            continue
        if rng.random() < NOVEL_FRACTION:
            spec, at = novel_spec(rng)
            sentences = teacher_sentences(spec, world, rng)
            done = next(i + 1 for i, (_, d) in enumerate(sentences) if d > at)
            k = min(len(sentences) - 1, done + rng.choice([0, 0, 1, 2]))
        else:
            sentences = teacher_sentences(spec, world, rng)
            k = rng.randint(1, len(sentences) - 1)  # never the whole CoT: something is always left
        out.append(Example(spec.text, " ".join(s for s, _ in sentences[:k]), continuation(spec, sentences[k - 1][1])))
    return out


def drill_examples(world: WorldConfig) -> list[Example]:
    """Arithmetic drills: a chain of routine operations on bare numbers, solved in the concise style.

    They cost a third of a word problem's tokens and carry the same computations, so the
    student's arithmetic gets more practice for the same pretraining time.
    """
    out = []
    for i in range(world.pretrain_drills):
        rng = _rng(world.seed, "drill", i)
        value = rng.randint(2, 40)
        parts, lines = [str(value)], []
        for _ in range(rng.randint(2, 5)):
            kind = rng.choice(["+", "+", "-", "-", "*"] if value <= 40 else ["+", "-", "-"])
            if kind == "-" and value <= 2:
                kind = "+"
            b = rng.choice([2, 2, 3]) if kind == "*" else rng.randint(1, 9 if kind == "+" else min(9, value - 1))
            after = value + b if kind == "+" else value - b if kind == "-" else value * b
            parts.append(f"{kind} {b}")
            lines.append(f"{value} {kind} {b} = {after}.")
            value = after
        out.append(Example(f"Compute {', then '.join(parts)}.", "", " ".join(lines) + f" The answer is \\boxed{{{value}}}."))
    return out


def render(tokenizer, problem: str) -> str:
    messages = [{"role": "user", "content": f"{PAPER_INSTRUCTION}\n{problem}"}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode(tokenizer, examples: list[Example], max_len: int) -> list[tuple[list[int], int]]:
    """(token ids, number of leading tokens without loss); the context cut keeps the start."""
    out = []
    for ex in examples:
        given = tokenizer(render(tokenizer, ex.prompt) + ex.prefix, add_special_tokens=False).input_ids
        # The chat template closes a turn with END_OF_TURN and a newline; SFT (TRL) trains on both,
        # so pretraining does too: a token the student never saw would cost ~15 nats per example.
        learned = tokenizer((" " if ex.prefix else "") + ex.target + END_OF_TURN + "\n", add_special_tokens=False).input_ids
        ids = (given + learned)[:max_len]
        if len(given) < len(ids):  # nothing to learn if the prefix fills the context
            out.append((ids, len(given)))
    return out


def _batches(encoded: list[tuple[list[int], int]], epochs: float, rng: random.Random) -> list[list[int]]:
    """Index batches over `epochs` passes; batches group similar lengths to save padding."""
    total = max(1, math.ceil(len(encoded) * epochs))
    order: list[int] = []
    while len(order) < total:
        perm = list(range(len(encoded)))
        rng.shuffle(perm)
        order += perm
    order = order[:total]
    batches = []
    chunk = BATCH_SIZE * 16
    for start in range(0, len(order), chunk):
        block = sorted(order[start : start + chunk], key=lambda i: len(encoded[i][0]))
        batches += [block[j : j + BATCH_SIZE] for j in range(0, len(block), BATCH_SIZE)]
    rng.shuffle(batches)
    return batches


def pretrain(model, tokenizer, world: WorldConfig, learning_rate: float, description: str = "pretraining") -> dict:
    """Train in place with AdamW and a cosine schedule; returns loss statistics."""
    import torch

    torch.manual_seed(world.seed)
    encoded = encode(tokenizer, pretrain_examples(world) + drill_examples(world), world.context_length)
    batches = _batches(encoded, world.pretrain_epochs, random.Random(world.seed))
    opt = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01, betas=(0.9, 0.98))
    warmup = max(1, len(batches) // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / len(batches))))
    )
    pad = tokenizer.pad_token_id
    losses: list[float] = []
    tokens = 0
    model.train()
    with progress() as bar:
        task = bar.add_task(description, total=len(batches))
        for batch in batches:
            width = -(-max(len(encoded[i][0]) for i in batch) // 16) * 16  # few distinct shapes: CPU kernels are reused
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            labels = torch.full((len(batch), width), -100, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                seq, skip = encoded[i]
                ids[row, : len(seq)] = torch.tensor(seq)
                labels[row, skip : len(seq)] = torch.tensor(seq[skip:])
                mask[row, : len(seq)] = 1
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
            tokens += int(mask.sum())
            bar.update(task, advance=1)
    model.eval()
    tail = losses[-max(1, len(losses) // 20) :]
    return {
        "learning_rate": learning_rate,
        "examples": len(encoded),
        "steps": len(batches),
        "tokens": tokens,
        "initial_loss": round(losses[0], 4),
        "final_loss": round(sum(tail) / len(tail), 4),
    }


def greedy_accuracy(model, tokenizer, problems: list, max_new_tokens: int = 128, batch_size: int = 50) -> dict:
    """Greedy decoding in the eval's chat format, graded by math-verify on the boxed answer."""
    import torch
    from math_verify import parse, verify

    tokenizer.padding_side = "left"
    correct, no_answer, lengths = 0, 0, []
    for start in range(0, len(problems), batch_size):
        chunk = problems[start : start + batch_size]
        enc = tokenizer([render(tokenizer, p.problem) for p in chunk], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False)
        for p, row in zip(chunk, out[:, enc.input_ids.shape[1] :]):
            text = tokenizer.decode(row, skip_special_tokens=True)
            lengths.append(int((row != tokenizer.pad_token_id).sum()))
            if "\\boxed" not in text:
                no_answer += 1
            elif verify(parse(p.answer), parse(text)):
                correct += 1
    return {"accuracy": round(correct / max(1, len(problems)), 4), "no_answer": no_answer, "n": len(problems),
            "mean_tokens": round(sum(lengths) / max(1, len(lengths)), 1)}



"""SFT data as the trainer reads it: checked records, and their token counts under the chat template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.jsonl import read_jsonl


def load_sft_records(data: Path) -> list[dict[str, Any]]:
    """Read and check an SFT JSONL; plain-string prompt/completion fields are wrapped as chat turns."""
    records = []
    for i, rec in enumerate(read_jsonl(data), start=1):
        prompt, completion = rec.get("prompt"), rec.get("completion")
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        if isinstance(completion, str):
            completion = [{"role": "assistant", "content": completion}]
        if not (isinstance(prompt, list) and prompt and isinstance(completion, list) and completion):
            raise HarnessError(f"{data}:{i}: an SFT record needs non-empty 'prompt' and 'completion' message lists")
        # A malformed turn would otherwise surface as a chat-template traceback after the model loads.
        for field, turns in (("prompt", prompt), ("completion", completion)):
            for turn in turns:
                if not (isinstance(turn, dict) and isinstance(turn.get("role"), str) and isinstance(turn.get("content"), str)):
                    raise HarnessError(f"{data}:{i}: every {field!r} message needs string 'role' and 'content', "
                                       f"got {json.dumps(turn)[:80]}")
        records.append({"prompt": prompt, "completion": completion})
    if not records:
        raise HarnessError(f"{data}: no SFT examples to train on")
    return records


def length_report(records: list[dict[str, Any]], tokenizer: Any, max_length: int | None) -> dict[str, Any]:
    """Token counts under the student's chat template, as the trainer will see them.

    `train_tokens` counts prompt + completion tokens per epoch after truncation;
    `train_completion_tokens` counts only the tokens that carry loss.
    """
    total = completion = truncated = cut = 0
    for rec in records:
        prompt_ids = _ids(tokenizer.apply_chat_template(rec["prompt"], add_generation_prompt=True, tokenize=True))
        full_ids = _ids(tokenizer.apply_chat_template(rec["prompt"] + rec["completion"], tokenize=True))
        n = len(full_ids)
        kept = n if max_length is None else min(n, max_length)
        if kept < n:
            truncated += 1
            cut += n - kept
        total += kept
        completion += max(0, kept - len(prompt_ids))
    return {
        "examples": len(records),
        "train_tokens": total,
        "train_tokens_counts": "prompt+completion tokens per epoch, after truncation",
        "train_completion_tokens": completion,
        "truncated": truncated,
        "truncated_tokens": cut,
        "max_length": max_length,
    }


def _ids(encoded: Any) -> list[int]:
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)

"""The s1K-1.1 source: DeepSeek-R1 reasoning (long CoT) and attempt (short CoT) per question.

Column names follow `simplescaling/s1K-1.1`: question, solution, cot_type, source_type,
metadata, gemini_thinking_trajectory, gemini_attempt, deepseek_thinking_trajectory,
deepseek_attempt (plus grade columns in later revisions). The gold answer is extracted
from the free-form `solution`: the last balanced `\\boxed{...}`, else a clear final-answer
phrase, else a solution that is itself a short answer. Proofs and essays have none.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.errors import HarnessError
from harness.jsonl import read_jsonl
from harness.teacher.sources import SourceResult, register_source

REQUIRED = ("question", "solution", "deepseek_thinking_trajectory", "deepseek_attempt")
TEACHER = "deepseek-r1"
_MAX_ANSWER_CHARS = 60
_FINAL_PATTERNS = (
    re.compile(r"final answer\s*(?:is|:)\s*\$*([^\n$]+?)\$*\s*\.?\s*$", re.IGNORECASE | re.MULTILINE),
    re.compile(r"the answer is\s*:?\s*\$*([^\n$]+?)\$*\s*\.?\s*$", re.IGNORECASE | re.MULTILINE),
    re.compile(r"^####\s*(.+?)\s*$", re.MULTILINE),
)
# A whole solution that is just an answer: a number, a fraction, a short expression.
_SHORT_ANSWER = re.compile(r"^[\s$]*[-+]?[\w\\{}^/.,()*+\- ]{1,40}[\s$]*$")


def extract_answer(solution: str) -> str | None:
    """The checkable gold answer of a free-form solution, or None."""
    from harness.eval.grading import last_boxed

    text = (solution or "").strip()
    if not text:
        return None
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return _clean(boxed)
    for pattern in _FINAL_PATTERNS:
        matches = pattern.findall(text)
        if matches:
            return _clean(matches[-1])
    if "\n" not in text and len(text.split()) <= 3 and _SHORT_ANSWER.match(text):
        return _clean(text)
    return None


def _clean(answer: str) -> str | None:
    answer = answer.strip().strip("$").strip().rstrip(".").strip()
    return answer if answer and len(answer) <= _MAX_ANSWER_CHARS else None


def load_rows(dataset: str, split: str) -> list[dict[str, Any]]:
    """Rows of a local parquet/JSONL file in the s1K-1.1 schema, or of the Hub dataset."""
    path = Path(dataset).expanduser()
    if path.is_file():
        if path.suffix == ".parquet":
            import datasets

            rows = list(datasets.Dataset.from_parquet(str(path)))
        elif path.suffix in (".jsonl", ".json"):
            rows = read_jsonl(path)
        else:
            raise HarnessError(f"{dataset}: expected a .parquet or .jsonl file in the s1K-1.1 schema")
    elif dataset.startswith((".", "/", "~")) or path.suffix in (".parquet", ".jsonl"):
        raise HarnessError(f"s1K data file not found: {dataset}")
    else:
        rows = _load_hub(dataset, split)
    if not rows:
        raise HarnessError(f"{dataset}: no rows")
    # Every row, not just the first: a JSONL has no schema, and a later row without
    # `question` would otherwise fail with a KeyError mid-way through the stage.
    for i, row in enumerate(rows, start=1):
        missing = [c for c in REQUIRED if c not in row]
        if missing:
            where = dataset if i == 1 else f"{dataset}: row {i}"
            raise HarnessError(f"{where}: missing s1K-1.1 column(s) {', '.join(missing)}")
    return rows


def _load_hub(dataset: str, split: str) -> list[dict[str, Any]]:
    import datasets
    from huggingface_hub.utils import logging as hub_logging

    level = hub_logging.get_verbosity()
    hub_logging.set_verbosity_error()  # the error below says it in one line; no retry chatter
    try:
        return list(datasets.load_dataset(dataset, split=split))
    except Exception as exc:  # offline, missing, gated: all mean "supply the file yourself"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:100]
        raise HarnessError(
            f"cannot load {dataset!r} from the Hub ({reason}); download s1K-1.1 elsewhere and pass "
            f"--dataset PATH (or --set teacher.dataset=PATH) to its parquet or JSONL file"
        ) from None
    finally:
        hub_logging.set_verbosity(level)


def _text(value: Any) -> str:
    # An early s1K-1.1 revision stored the DeepSeek columns as lists of strings.
    if isinstance(value, (list, tuple)):
        return "\n\n".join(str(v) for v in value if v)
    return str(value or "").strip()


@register_source("s1k")
def s1k_source(cfg: RunConfig, work_dir: Path) -> SourceResult:
    rows = load_rows(cfg.teacher.dataset, cfg.teacher.split)
    if cfg.teacher.limit is not None:
        rows = rows[: cfg.teacher.limit]
    records, dropped, uncheckable_kept = [], [], 0
    for i, row in enumerate(rows):
        rid = f"s1k-{i:04d}"
        long_cot, short_cot = _text(row.get("deepseek_thinking_trajectory")), _text(row.get("deepseek_attempt"))
        if not long_cot or not short_cot:
            dropped.append({"id": rid, "reason": "no DeepSeek trajectory or attempt"})
            continue
        answer = extract_answer(str(row.get("solution") or ""))
        if answer is None:
            if not cfg.teacher.keep_uncheckable:
                dropped.append({"id": rid, "reason": "no checkable answer in solution"})
                continue
            uncheckable_kept += 1
        records.append({
            "id": rid,
            "problem": str(row["question"]).strip(),
            "answer": answer or "",
            "long_cot": long_cot,
            "short_cot": short_cot,
            "source": "s1k",
            "teacher": TEACHER,
        })
    return SourceResult(records, dropped, {"rows": len(rows), "uncheckable_kept": uncheckable_kept})

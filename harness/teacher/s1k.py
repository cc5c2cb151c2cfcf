"""The s1K-1.1 source: DeepSeek-R1 reasoning (long CoT) and attempt (short CoT) per question.

Column names follow `simplescaling/s1K-1.1`: question, solution, cot_type, source_type,
metadata, gemini_thinking_trajectory, gemini_attempt, deepseek_thinking_trajectory,
deepseek_attempt (plus grade columns in later revisions). The gold answer is extracted
from the free-form `solution`: the last balanced `\\boxed{...}`, else a clear final-answer
phrase, else a solution that is itself a short answer. Proofs and essays have none.

Every row that does not become a trace is reported with one reason (empty question, empty
trajectory, empty attempt, no checkable answer), and the notes give the row, kept and
dropped counts, so the summary says how far below the paper's rows a run trains and why.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.errors import HarnessError, clip
from harness.flag_names import spell
from harness.jsonl import read_jsonl
from harness.teacher.sources import SourceResult

REQUIRED = ("question", "solution", "deepseek_thinking_trajectory", "deepseek_attempt")
TEACHER = "deepseek-r1"
_MAX_ANSWER_CHARS = 60
_MAX_ANSWER_WORDS = 3  # prose words (2+ letters, outside LaTeX commands) an answer may hold: "2, 3, and 5"

# Drop reasons, one per dropped row (the teacher summary counts them).
NO_QUESTION = "empty question"
NO_TRAJECTORY = "empty deepseek_thinking_trajectory"
NO_ATTEMPT = "empty deepseek_attempt"
NO_ANSWER = "no checkable answer in solution"

# "Final Answer: x", "**Final Answer:** x", "The final answer is $x$.", "the answer is: x",
# "**Answer:** x", "Answer = x": the value is the rest of that line.
_ANSWER_LEAD = re.compile(r"\b(?:final\s+|correct\s+)?answer\**[^\S\n]*(?:is\b[^\S\n]*:?|[:=])", re.IGNORECASE)
# "**Final Answer**" or "## Final Answer" alone on its line: the value is the next non-blank line.
_ANSWER_HEADING = re.compile(r"^[^\S\n]*[#*]*[^\S\n]*final\s+answer[^\S\n]*[*:]*[^\S\n]*\n\s*", re.IGNORECASE | re.MULTILINE)
_GSM8K_ANSWER = re.compile(r"^####[^\S\n]*(?=[-+$\\\d.(])", re.MULTILINE)  # "#### 42", not a "#### Step 2" heading
_MINERVA_TAIL = re.compile(r"\s*I hope it is correct\.?\s*$", re.IGNORECASE)
_MATH_WRAP = re.compile(r"\$\$(.+)\$\$|\$(.+)\$|\\\((.+)\\\)|\\\[(.+)\\\]", re.DOTALL)
_BOX = re.compile(r"\\(?:boxed|fbox)")  # an empty or unclosed box is no bare answer
_SENTENCE_BREAK = re.compile(r"[.!?]\s+\S")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
# A whole solution that is just an answer: a number, a fraction, a short expression.
_SHORT_ANSWER = re.compile(r"[-+]?[\w\\{}^_/.,()\[\]*+\-=<>|:' ]{1,40}")


def extract_answer(solution: str) -> str | None:
    """The checkable gold answer of a free-form solution, or None."""
    return extract_answer_form(solution)[0]


def extract_answer_form(solution: str) -> tuple[str | None, str | None]:
    """(answer, form) of a free-form s1K-1.1 solution; form is "boxed", "phrase" or "bare", (None, None) if none.

    In order: the last balanced `\\boxed{...}` / `\\fbox{...}`; else the last final-answer
    phrase ("Final Answer: ...", "**Answer:** ...", "the answer is ...", "#### ...", a
    "**Final Answer**" line with the value under it) whose value ends its line; else a
    solution that is itself a short answer ("42", "-3/4", "$\\frac{1}{2}$",
    "1.2 \\times 10^{-3}"). Proofs and essays have none.
    """
    from harness.eval.grading import last_boxed

    text = (solution or "").strip()
    if not text:
        return None, None
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        answer = _clean(boxed)
        if answer is not None:
            return answer, "boxed"
    leads = [m.end() for pattern in (_ANSWER_LEAD, _ANSWER_HEADING, _GSM8K_ANSWER) for m in pattern.finditer(text)]
    if leads:
        rest = text[max(leads) :]
        lines = rest.split("\n")
        if not lines[0].strip(" \t*:") and len(lines) > 1:  # "The answer is" + the value on the next line
            lines = rest.lstrip(" \t*:").lstrip().split("\n")
        answer = _phrase_value(lines[0])
        return (answer, "phrase") if answer is not None else (None, None)
    bare = _unwrap(text.rstrip("."))
    if "\n" not in bare and not _BOX.search(bare) and _SHORT_ANSWER.fullmatch(bare) and len(bare.split()) <= 3 and _looks_mathy(bare):
        return _clean(bare), "bare"
    return None, None


def _phrase_value(rest: str) -> str | None:
    """The value after a final-answer lead, when it alone ends the line ("$x$.", "x. I hope it is correct.")."""
    value = _MINERVA_TAIL.sub("", rest).strip().strip("*").strip().rstrip(".").strip()
    value = _unwrap(value)
    if _SENTENCE_BREAK.search(value) or len(_PROSE_WORD.findall(value)) > _MAX_ANSWER_WORDS:
        return None  # "the answer is 5, but let me check": prose, not an answer
    return _clean(value)


def _unwrap(value: str) -> str:
    """`$x$`, `$$x$$`, `\\(x\\)`, `\\[x\\]` around the whole value -> `x`."""
    value = value.strip()
    match = _MATH_WRAP.fullmatch(value)
    if match:
        inner = next(g for g in match.groups() if g is not None)
        if "$" not in inner:  # "$a$ and $b$" is two spans, not one
            return inner.strip()
    return value


def _looks_mathy(value: str) -> bool:
    """A bare answer holds a digit or a LaTeX command, or is a single token ("True", "B")."""
    return any(c.isdigit() for c in value) or "\\" in value or len(value.split()) == 1


def _clean(answer: str) -> str | None:
    answer = _unwrap(answer.strip().rstrip(".").strip()).rstrip(".").strip()
    if answer.count("$") == 1 and answer.startswith("$") and answer[1:2].isdigit():
        answer = answer[1:]  # a price: "$5" -> "5"
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
    from harness.hub import offline_reason

    offline = offline_reason()  # decided once, before the client would retry an unreachable Hub
    import datasets
    from huggingface_hub.utils import logging as hub_logging

    level = hub_logging.get_verbosity()
    hub_logging.set_verbosity_error()  # the error below says it in one line; no retry chatter
    try:
        return list(datasets.load_dataset(dataset, split=split))
    except Exception as exc:  # offline, missing, gated: all mean "supply the file yourself"
        reason = f"offline: {offline}" if offline else clip((str(exc).strip().splitlines() or [type(exc).__name__])[0], 100)
        raise HarnessError(
            f"cannot load {dataset!r} from the Hub ({reason}); download s1K-1.1 elsewhere and give its parquet or "
            f"JSONL file with {spell('teacher.dataset', 'PATH')}"
        ) from None
    finally:
        hub_logging.set_verbosity(level)


def _text(value: Any) -> str:
    # An early s1K-1.1 revision stored the DeepSeek columns as lists of strings.
    if isinstance(value, (list, tuple)):
        return "\n\n".join(str(v) for v in value if v)
    return str(value or "").strip()


def s1k_source(cfg: RunConfig, work_dir: Path) -> SourceResult:
    rows = load_rows(cfg.teacher.dataset, cfg.teacher.split)
    if cfg.teacher.limit is not None:
        rows = rows[: cfg.teacher.limit]
    records, dropped, uncheckable_kept = [], [], 0
    forms: dict[str, int] = {}
    for i, row in enumerate(rows):
        rid = f"s1k-{i:04d}"
        problem = str(row.get("question") or "").strip()
        long_cot, short_cot = _text(row.get("deepseek_thinking_trajectory")), _text(row.get("deepseek_attempt"))
        reason = NO_QUESTION if not problem else NO_TRAJECTORY if not long_cot else NO_ATTEMPT if not short_cot else None
        if reason:
            dropped.append({"id": rid, "reason": reason})
            continue
        answer, form = extract_answer_form(str(row.get("solution") or ""))
        if answer is None:
            if not cfg.teacher.keep_uncheckable:
                dropped.append({"id": rid, "reason": NO_ANSWER})
                continue
            uncheckable_kept += 1
        else:
            forms[form] = forms.get(form, 0) + 1
        records.append({
            "id": rid,
            "problem": problem,
            "answer": answer or "",
            "long_cot": long_cot,
            "short_cot": short_cot,
            "source": "s1k",
            "teacher": TEACHER,
        })
    notes = {
        "rows": len(rows),  # after teacher.limit
        "kept": len(records),  # before the contamination check, which the summary reports on its own
        "dropped": len(dropped),
        "uncheckable_kept": uncheckable_kept,
        "answer_forms": dict(sorted(forms.items())),
    }
    return SourceResult(records, dropped, notes)

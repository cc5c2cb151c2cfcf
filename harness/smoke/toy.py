"""The built-in toy data: teacher rows in the s1K-1.1 schema and benchmark files in the local schema.

Made up, deterministic and small, so that a preset's pipeline runs offline in seconds: the
rows have every column `simplescaling/s1K-1.1` has (the s1k source reads the question, the
solution and the DeepSeek columns), R1-style chains of thought in paragraphs, and a boxed
gold answer; the benchmark rows have `id`, `problem` and `answer`, as the files that
`eval.data_dir` names. `bench/gpu_check.py` makes its teacher file with the same functions.
"""

from __future__ import annotations

import json
from typing import Any

from harness.config import PAPER_INSTRUCTION

FILLER = [
    "First, write down what is given and what is asked.",
    "Let me check that again: {a} + {b} = {s}, so the sum is right.",
    "Wait, maybe there is a simpler way to see this.",
    "Multiplying, {a} * {b} = {p}, which we will need later.",
    "Hmm, so the remainder of {p} divided by {b} is {r}.",
    "Therefore the expression simplifies, and we can substitute x = {a}.",
    "Let x = \\frac{{{a}}}{{{b}}}; then {b}x = {a}.",
    "So far the answer looks like {s}, but let me verify each step once more.",
    "Alternatively, consider the case where n = {b} and count the possibilities.",
    "Since {a} is less than {p}, the inequality holds for every positive integer.",
]
SENTENCES_PER_PARAGRAPH = 2  # R1 traces come in short paragraphs; the paper presets split on them


def filler_sentence(i: int) -> str:
    """The i-th sentence of reasoning-shaped filler (numbers vary with i)."""
    a, b = 3 + (i * 7) % 91, 2 + (i * 13) % 37
    return FILLER[i % len(FILLER)].format(a=a, b=b, s=a + b, p=a * b, r=(a * b) % b)


def s1k_rows(n: int, sentences: int) -> list[dict[str, Any]]:
    """n rows in the s1K-1.1 schema, each a chain of thought of `sentences` filler sentences around the key steps."""
    rows = []
    for i in range(n):
        a, b, c = 11 + 3 * i, 4 + i % 9, 2 + i % 5
        answer = a + b * c
        filler = [filler_sentence(i * 31 + k) for k in range(sentences)]
        paragraphs = [f"We need {a} + {b} * {c}. Multiplication first: {b} * {c} = {b * c}."]
        paragraphs += [" ".join(filler[k:k + SENTENCES_PER_PARAGRAPH])
                       for k in range(0, len(filler), SENTENCES_PER_PARAGRAPH)]
        paragraphs.append(f"So {a} + {b * c} = {answer}, and the answer is \\boxed{{{answer}}}.")
        cot = "\n\n".join(paragraphs)
        attempt = (f"First ${b} \\cdot {c} = {b * c}$, then ${a} + {b * c} = {answer}$.\n\n"
                   f"Final Answer: The final answer is $\\boxed{{{answer}}}$")
        rows.append({
            "solution": f"${a} + {b} \\cdot {c} = {answer}$, so the answer is $\\boxed{{{answer}}}$.",
            "question": f"Compute ${a} + {b} \\cdot {c}$.",
            "cot_type": "math",
            "source_type": "harness/toy",
            "metadata": json.dumps({"row": i}),
            "gemini_thinking_trajectory": cot,
            "gemini_attempt": attempt,
            "deepseek_thinking_trajectory": cot,
            "deepseek_attempt": attempt,
            "gemini_grade": "Yes",
            "gemini_grade_reason": "made up: toy data",
            "deepseek_grade": "Yes",
            "deepseek_grade_reason": "made up: toy data",
        })
    return rows


def benchmark_rows(name: str, n: int) -> list[dict[str, Any]]:
    """n toy problems for benchmark `name`, in the local benchmark schema (id, problem, answer)."""
    seed = sum(map(ord, name))  # each benchmark its own numbers, and none a teacher row's
    rows = []
    for i in range(n):
        a, b, c = 50 + (seed + 7 * i) % 40, 3 + (seed + i) % 6, 1 + i % 4
        rows.append({"id": f"{name}-toy-{i}", "problem": f"Find ${a} \\cdot {b} - {c}$.", "answer": str(a * b - c)})
    return rows


def tokenizer_corpus(teacher: list[dict[str, Any]], benchmarks: list[list[dict[str, Any]]]) -> list[str]:
    """Every text the toy pipeline sends through the stand-in, so the tokenizer has merges for them."""
    texts = [PAPER_INSTRUCTION, "[ENOUGH] [NOT_ENOUGH] partial reasoning", "<think> </think>",
             "<Begin_of_Prefix> <End_of_Prefix>", "user assistant system"]
    for row in teacher:
        texts += [row["question"], row["solution"], row["deepseek_thinking_trajectory"], row["deepseek_attempt"]]
    texts += [row["problem"] for rows in benchmarks for row in rows]
    texts += [filler_sentence(i) for i in range(200)]
    return texts

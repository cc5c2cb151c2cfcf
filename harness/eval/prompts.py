"""Prompt rendering: the paper's instruction inside the model's own chat template.

The user turn is `instruction + "\\n" + problem`. The rendered text ends with the
assistant generation prompt (plus an optional verbatim prefix, so a method can make the
model continue a given partial answer). Thinking tags are stripped before grading.
"""

from __future__ import annotations

import re

from harness.config import PAPER_INSTRUCTION
from harness.errors import HarnessError

DEFAULT_INSTRUCTION = PAPER_INSTRUCTION

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)
# A reply can open with reasoning whose <think> was part of the prompt, leaving only "</think>".
_THINK_TAIL = re.compile(r"^.*?</think>", re.DOTALL)


def user_message(problem: str, instruction: str = DEFAULT_INSTRUCTION) -> str:
    """The user text alone: instruction, newline, problem (no instruction -> the problem)."""
    return f"{instruction}\n{problem}" if instruction else problem


def render_prompt(
    tokenizer,
    problem: str,
    instruction: str = DEFAULT_INSTRUCTION,
    enable_thinking: bool | None = None,
    assistant_prefix: str = "",
) -> str:
    """Render one user turn in the tokenizer's chat template, ready for generation.

    `enable_thinking` is passed to the template only when set, so templates that do not
    know it (Qwen2.5) render exactly as they would by default.
    """
    messages = [{"role": "user", "content": user_message(problem, instruction)}]
    if getattr(tokenizer, "chat_template", None) is None:
        raise HarnessError(f"tokenizer of {getattr(tokenizer, 'name_or_path', 'the model')} has no chat template")
    kwargs = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)
    return text + assistant_prefix


def strip_thinking(text: str) -> str:
    """Drop `<think>...</think>` blocks (and a leading reasoning that only closes one).

    An unclosed `<think>` means the model never finished thinking: everything after it
    is reasoning, so nothing remains to grade.
    """
    text = _THINK_BLOCK.sub("", text)
    if "</think>" in text:
        text = _THINK_TAIL.sub("", text, count=1)
    if "<think>" in text:
        text = text.split("<think>", 1)[0]
    return text.strip()

"""Sentence splitting for teacher chains of thought, lossless: `"".join(split_sentences(t)) == t`.

A naive `split(". ")` cuts decimals, LaTeX, abbreviations and numbered lists apart. Here a
sentence ends at `.`, `!` or `?` followed by whitespace, or at a line break, unless the
mark sits inside a protected span (math, code, brace groups), ends a known abbreviation
or is a list marker such as `1.`. The whitespace after a sentence stays with it, so the
pieces always join back to the original text exactly.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    "e.g i.e etc vs cf al dr mr mrs ms prof st jr sr fig eq eqs no approx resp ca ex sec ch vol p pp".split()
)

# Spans whose inner punctuation never ends a sentence. Order matters: fences before inline code,
# display math before inline math.
_PROTECTED = re.compile(
    r"```.*?```"  # fenced code
    r"|`[^`\n]*`"  # inline code
    r"|\$\$.*?\$\$"  # display math
    r"|\$(?:\\.|[^$\\])+?\$"  # inline math
    r"|\\\(.*?\\\)"  # \( ... \)
    r"|\\\[.*?\\\]",  # \[ ... \]
    re.DOTALL,
)
# A candidate end: terminal punctuation (with closing quotes/brackets) then whitespace, or newlines.
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+|\n\s*")
_WORD_BEFORE = re.compile(r"([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)$")
_LIST_MARKER = re.compile(r"(?:^|\n)[ \t]*(?:\d{1,3}|[A-Za-z]|[ivxlc]{1,5})$")


def _protected_mask(text: str) -> list[bool]:
    mask = [False] * len(text)
    for match in _PROTECTED.finditer(text):
        for i in range(match.start(), match.end()):
            mask[i] = True
    # Balanced brace groups (\frac{a. b}{c}, \text{e.g. this}); an unclosed brace protects nothing.
    stack: list[int] = []
    for i, ch in enumerate(text):
        if mask[i] or (i > 0 and text[i - 1] == "\\"):
            continue
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            start = stack.pop()
            if not stack:
                for j in range(start, i + 1):
                    mask[j] = True
    return mask


def _is_false_end(text: str, dot: int) -> bool:
    """True when the period at `dot` ends an abbreviation or a list marker, not a sentence."""
    if text[dot] != ".":
        return False
    head = text[:dot]
    if _LIST_MARKER.search(head):
        return True
    word = _WORD_BEFORE.search(head)
    if word is None:
        return False
    token = word.group(1).lower()
    # Single capitals ("J. Smith") and dotted forms ("e.g", "i.e") are abbreviations too.
    return token in ABBREVIATIONS or (len(token) == 1 and word.group(1).isupper()) or "." in token


def split_sentences(text: str) -> list[str]:
    """Split `text` into sentences that join back to it exactly."""
    if not text:
        return []
    mask = _protected_mask(text)
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        pos = match.start()
        if mask[pos] or _is_false_end(text, pos):
            continue
        if text[pos] != "\n" and text[match.end() : match.end() + 1].islower():
            continue  # 'The sentence "A b." is about ...': a lowercase start continues the sentence
        if match.end() <= start or not text[start:pos].strip():
            continue  # no content yet: let leading whitespace join the next sentence
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        if pieces and not text[start:].strip():
            pieces[-1] += text[start:]  # trailing whitespace belongs to the last sentence
        else:
            pieces.append(text[start:])
    return pieces


def chunk_sentences(sentences: list[str], max_pieces: int | None) -> list[str]:
    """Merge neighbouring sentences into at most `max_pieces` pieces (lossless), to bound the search."""
    if not max_pieces or len(sentences) <= max_pieces:
        return list(sentences)
    out = []
    for i in range(max_pieces):
        lo = i * len(sentences) // max_pieces
        hi = (i + 1) * len(sentences) // max_pieces
        out.append("".join(sentences[lo:hi]))
    return out


UNITS = ("sentence", "paragraph")


def split_paragraphs(text: str) -> list[str]:
    """Split `text` at blank lines; the blank lines stay with the paragraph before them (lossless)."""
    if not text:
        return []
    pieces: list[str] = []
    start = 0
    for match in re.finditer(r"\n[ \t]*\n\s*", text):
        if text[start : match.start()].strip():
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        if pieces and not text[start:].strip():
            pieces[-1] += text[start:]
        else:
            pieces.append(text[start:])
    return pieces


def split_pieces(text: str, unit: str = "sentence", max_pieces: int | None = None) -> list[str]:
    """The pieces a prefix search walks over: sentences or paragraphs, merged to at most `max_pieces`."""
    if unit not in UNITS:
        raise ValueError(f"unknown split unit {unit!r} (known: {', '.join(UNITS)})")
    pieces = split_sentences(text) if unit == "sentence" else split_paragraphs(text)
    return chunk_sentences(pieces, max_pieces)

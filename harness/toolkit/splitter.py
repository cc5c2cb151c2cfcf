"""Sentence and paragraph splitting for teacher chains of thought, lossless: `"".join(pieces) == text`.

A naive `split(". ")` cuts decimals, LaTeX, abbreviations and numbered lists apart, and
splitting at every line break turns each line of a multi-line equation into a "sentence".
Here a sentence ends at

* `.`, `!` or `?` (with closing quotes/brackets) followed by whitespace, a line break included,
  unless the next word starts in lower case on the same line, the period ends a known
  abbreviation ("e.g.", "Dr.") or a list marker ("1."), or the mark is inside a protected span;
* a blank line (a paragraph break);
* a line break before a list item (`- `, `* `, `+ `, `1. `, `1) `, `a) `, `(a) `) or a heading
  (markdown `#`, or a line that is all bold, like `**Final Answer**`), after a heading line,
  around a fenced code block, and after a display-math block ending its line when the next
  line starts with a capital ("\\]" then "Then ...", not "where ...").

A single line break is not a boundary by itself. Protected spans, whose inner punctuation and
line breaks never end a sentence:

* fenced code: a run of 3+ backticks (or tildes) ending its line, closed by a line holding only
  a run of at least as many; it may hold blank lines;
* inline code on one line;
* math, which never crosses a blank line (a blank line inside math mode is a LaTeX error):
  `$$...$$`, `\\[...\\]`, `\\(...\\)`, and inline `$...$` by pandoc's tex_math_dollars rule (the
  opening `$` has a non-space character right after it, the closing `$` has a non-space
  character right before it and no digit right after it, no unescaped `$` inside), so
  "It costs $5. Then we compute $x+1$." protects `$x+1$` only;
* balanced brace groups (`\\frac{a. b}{c}`), within a paragraph.

An opener without its closer protects nothing, so an unclosed span never swallows the rest of
the text. The whitespace after a piece stays with it (every piece but the first starts with a
non-space character), so the pieces always join back to the original text exactly, and every
paragraph boundary is also a sentence boundary.
"""

from __future__ import annotations

import bisect
import re

ABBREVIATIONS = frozenset(
    "e.g i.e etc vs cf al dr mr mrs ms prof st jr sr fig eq eqs no approx resp ca ex sec ch vol p pp".split()
)

# A paragraph break: a line break, then a line of only whitespace (\r included), then a line break.
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
# Terminal punctuation with closing quotes/brackets/emphasis, then whitespace.
_PUNCT = re.compile(r"[.!?]+[\"'\u201d\u2019)\]*]*(?=\s)")
_LIST_ITEM = r"(?:[-*+\u2022]|\d{1,3}[.)]|[A-Za-z][.)]|\([A-Za-z0-9]{1,3}\))[^\S\n]"
_HEADING = r"#{1,6}[^\S\n]"
_BOLD_LINE = r"\*\*[^*\n]+\*\*:?[^\S\n]*(?:\n|\Z)"  # "**Final Answer**" alone on its line
# A line break before a list item or a heading.
_NEWLINE_BEFORE_BLOCK = re.compile(rf"\n(?=[^\S\n]*(?:{_LIST_ITEM}|{_HEADING}|{_BOLD_LINE}))")
# A line break that ends a heading line.
_HEADING_END = re.compile(rf"(?m)^[^\S\n]{{0,3}}(?:{_HEADING}[^\n]*|\*\*[^*\n]+\*\*:?[^\S\n]*)(\n)")
# After a display-math block that ends its line: a line break, then a capital starts the next line.
_DISPLAY_END = re.compile(r"[^\S\n]*\n[^\S\n]*(?=[A-Z])")
_WHITESPACE = re.compile(r"\s*")
_WORD_BEFORE = re.compile(r"([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)$")
_LIST_MARKER = re.compile(r"[^\S\n]*(?:\d{1,3}|[A-Za-z]|[ivxlc]{1,5})")

_ESCAPE = re.compile(r"\\[\s\S]")  # a backslash pair: \\, \$, \{, \( ...
_SPECIAL = re.compile(r"[\\`~$]")
_FENCE_OPEN = re.compile(r"(`{3,}|~{3,})[^\S\n]*[^\s`~]*[^\S\n]*(?=\n)")


def _fence_close(char: str, count: int) -> re.Pattern[str]:
    return re.compile(rf"(?m)^[^\S\n]{{0,3}}({re.escape(char)}{{{count},}})[^\S\n]*(?:\n|\Z)")


def _next(positions: list[int], pos: int, limit: int) -> int:
    """The first of the sorted `positions` at or after `pos` and before `limit`, else -1."""
    i = bisect.bisect_left(positions, pos)
    return positions[i] if i < len(positions) and positions[i] < limit else -1


class _Spans:
    """Protected spans of one text: a per-character mask, the fenced code and display-math blocks.

    One left-to-right scan; every closer is looked up in precomputed sorted positions, so the
    cost stays linear-ish even with thousands of unclosed openers.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.blank_lines = [m.start() for m in _BLANK_LINE.finditer(text)]
        escapes = [m.start() for m in _ESCAPE.finditer(text)]
        escaped = {i + 1 for i in escapes}
        self.closers = {
            "\\(": [i for i in escapes if text[i + 1] == ")"],
            "\\[": [i for i in escapes if text[i + 1] == "]"],
        }
        self.dollars = [m.start() for m in re.finditer(r"\$", text) if m.start() not in escaped]
        self.mask = bytearray(len(text))
        self.fences: list[tuple[int, int]] = []
        self.displays: list[tuple[int, int]] = []  # $$...$$ and \[...\]
        self.backtick_runs: dict[int, list[int]] | None = None  # run length -> starts, built on first use
        self._scan()
        self._brace_groups()

    def _paragraph_end(self, pos: int) -> int:
        """Where the paragraph holding `pos` ends: its blank line, else the end of the text."""
        end = _next(self.blank_lines, pos, len(self.text))
        return len(self.text) if end < 0 else end

    def _protect(self, start: int, end: int, kind: list | None = None) -> int:
        self.mask[start:end] = b"\x01" * (end - start)
        if kind is not None:
            kind.append((start, end))
        return end

    def _scan(self) -> None:
        text, n = self.text, len(self.text)
        match = _SPECIAL.search(text)
        while match:
            i = match.start()
            ch = text[i]
            if ch == "\\":
                opener = text[i : i + 2]
                end = self._close(opener, i + 2) if opener in self.closers else 0
                i = self._protect(i, end, self.displays if opener == "\\[" else None) if end else i + 2
            elif ch == "$":
                if text.startswith("$$", i):
                    end = self._close("$$", i + 2)
                    i = self._protect(i, end, self.displays) if end else i + 2
                else:
                    end = self._inline_dollar(i)
                    i = self._protect(i, end) if end else i + 1
            else:  # a run of backticks or tildes: a fence, inline code, or literal text
                run = self._run(i, ch)
                end = self._fence(i, ch, run) if run >= 3 else 0
                if end:
                    i = self._protect(i, end, self.fences)
                else:
                    end = self._inline_code(i, run) if ch == "`" else 0
                    i = self._protect(i, end) if end else i + run
            match = _SPECIAL.search(text, i) if i < n else None

    def _run(self, i: int, ch: str) -> int:
        j = i
        while j < len(self.text) and self.text[j] == ch:
            j += 1
        return j - i

    def _fence(self, i: int, ch: str, run: int) -> int:
        """End of a fenced block opened at `i` (the closing run), or 0 when it is no opener or unclosed."""
        if not _FENCE_OPEN.match(self.text, i):
            return 0
        close = _fence_close(ch, run).search(self.text, self.text.index("\n", i) + 1)
        return close.end(1) if close else 0

    def _inline_code(self, i: int, run: int) -> int:
        """End of inline code opened by `run` backticks at `i`: the next run of exactly as many on its line, or 0."""
        if self.backtick_runs is None:
            self.backtick_runs = {}
            for m in re.finditer(r"`+", self.text):
                self.backtick_runs.setdefault(len(m.group()), []).append(m.start())
        line_end = self.text.find("\n", i)
        k = _next(self.backtick_runs.get(run, []), i + run, len(self.text) if line_end < 0 else line_end)
        return k + run if k >= 0 else 0

    def _close(self, opener: str, pos: int) -> int:
        """End of the math span whose opener ends at `pos`, or 0 when it is not closed in its paragraph."""
        limit = self._paragraph_end(pos)
        if opener == "$$":  # no lone `$` inside: the next unescaped `$` must start the closing `$$`
            k = _next(self.dollars, pos, limit)
            return k + 2 if k > pos and k + 2 <= limit and self.text.startswith("$$", k) else 0
        k = _next(self.closers[opener], pos, limit)
        return k + 2 if k >= 0 and k + 2 <= limit else 0

    def _inline_dollar(self, i: int) -> int:
        """End of an inline `$...$` opened at `i` by pandoc's tex_math_dollars rule, or 0."""
        text = self.text
        if i + 1 >= len(text) or text[i + 1].isspace():
            return 0
        k = _next(self.dollars, i + 1, self._paragraph_end(i + 1))  # no unescaped `$` inside
        if k < 0 or text[k - 1].isspace() or text[k + 1 : k + 2].isdigit():
            return 0
        return k + 1

    def _brace_groups(self) -> None:
        """Protect balanced brace groups outside other spans, within a paragraph; unclosed braces protect nothing."""
        text, mask = self.text, self.mask
        stack: list[int] = []
        for m in re.finditer(r"[{}]|\n[^\S\n]*\n", text):
            i = m.start()
            if m.group() not in "{}":
                stack.clear()  # a brace group never crosses a paragraph
            elif mask[i] or (i > 0 and text[i - 1] == "\\"):
                continue
            elif m.group() == "{":
                stack.append(i)
            elif stack:
                start = stack.pop()
                if not stack:
                    self._protect(start, i + 1)


def _is_false_end(text: str, dot: int) -> bool:
    """True when the period at `dot` ends an abbreviation or a list marker, not a sentence."""
    if text[dot] != ".":
        return False
    line_start = text.rfind("\n", 0, dot) + 1
    if dot - line_start <= 8 and _LIST_MARKER.fullmatch(text, line_start, dot):
        return True
    word = _WORD_BEFORE.search(text, max(0, dot - 64), dot)
    if word is None:
        return False
    token = word.group(1).lower()
    # Single capitals ("J. Smith") and dotted forms ("e.g", "i.e") are abbreviations too.
    return token in ABBREVIATIONS or (len(token) == 1 and word.group(1).isupper()) or "." in token


def _after_space(text: str, pos: int) -> int:
    return _WHITESPACE.match(text, pos).end()


def _candidates(text: str, spans: _Spans, unit: str) -> list[tuple[int, int]]:
    """(position, end) of each possible boundary: the piece ends at `end`, `position` must be unprotected."""
    found = [(m.start(), _after_space(text, m.start())) for m in _BLANK_LINE.finditer(text)]
    if unit == "paragraph":
        return found
    for m in _PUNCT.finditer(text):
        end = _after_space(text, m.end())
        if spans.mask[m.start()] or _is_false_end(text, m.start()):
            continue
        if "\n" not in text[m.end() : end] and text[end : end + 1].islower():
            continue  # 'The sentence "A b." is about ...': a lowercase start continues the sentence
        found.append((m.start(), end))
    found += [(m.start(), _after_space(text, m.start())) for m in _NEWLINE_BEFORE_BLOCK.finditer(text)]
    found += [(m.start(1), _after_space(text, m.start(1))) for m in _HEADING_END.finditer(text)]
    for start, end in spans.fences:
        line_start = text.rfind("\n", 0, start)
        if line_start >= 0 and not text[line_start:start].strip():
            found.append((line_start, start))  # a fence that opens its line starts a piece
        found.append((end, _after_space(text, end)))
    for _, end in spans.displays:
        if _DISPLAY_END.match(text, end):
            found.append((end, _after_space(text, end)))
    found.sort()
    return found


def _split(text: str, unit: str) -> list[str]:
    if not text:
        return []
    spans = _Spans(text)
    pieces: list[str] = []
    start = 0
    for pos, end in _candidates(text, spans, unit):
        if pos < start or end <= start or end >= len(text) or (pos < len(text) and spans.mask[pos]):
            continue
        if not text[start:pos].strip():
            continue  # no content yet: leading whitespace joins the next piece
        pieces.append(text[start:end])
        start = end
    if start < len(text):
        pieces.append(text[start:])  # end < len(text) above, so the rest holds content
    return pieces


def split_sentences(text: str) -> list[str]:
    """Split `text` into sentences that join back to it exactly."""
    return _split(text, "sentence")


def split_paragraphs(text: str) -> list[str]:
    """Split `text` at blank lines outside fenced code (lossless).

    The blank lines (and the indentation after them) stay with the paragraph before them,
    leading blank text joins the first paragraph, so no paragraph but the first starts with
    whitespace.
    """
    return _split(text, "paragraph")


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


def split_pieces(text: str, unit: str = "sentence", max_pieces: int | None = None) -> list[str]:
    """The pieces a prefix search walks over: sentences or paragraphs, merged to at most `max_pieces`."""
    if unit not in UNITS:
        raise ValueError(f"unknown split unit {unit!r} (known: {', '.join(UNITS)})")
    pieces = split_sentences(text) if unit == "sentence" else split_paragraphs(text)
    return chunk_sentences(pieces, max_pieces)

import re
from itertools import accumulate
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.toolkit.splitter import UNITS, chunk_sentences, split_paragraphs, split_pieces, split_sentences

R1_TRACE = Path(__file__).parent / "fixtures" / "r1_style_trace.txt"

# Text built from the pieces that trip naive splitters, plus arbitrary unicode.
_ATOMS = st.sampled_from([
    "The value is 3.14. ", "e.g. ", "i.e. ", "Dr. ", "vs. ", "$x. y$", "\\(a. b\\)", "\\[c. d\\]",
    "\\frac{1. 5}{2}", "\n1. ", "\n2. ", "```\nx = 1. y\n```", ". ", "! ", "? ", "\n\n", " ", "Wait.", "{", "}", "$",
    # and the pieces of R1 traces: currency, display math over lines, lists, headings, fences with blank lines
    "$5", "$12.50", "$$", "$$\na. B\n$$", "\\[\nA. B\n\\]", "\\(", "\\]", "\n", "\n \n", "\r\n\r\n", "\n- ", "\n* ",
    "\n3) ", "\n(a) ", "\n## ", "\n**Final Answer**\n", "```python\nA. B\n\nC. D\n```\n", "```", "~~~\n", "`", "\\",
    "Hmm, ", "e.g.", "x = 1\n", "Then", "then",
])


def _boundaries(pieces):
    return set(accumulate(len(p) for p in pieces[:-1]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ATOMS, st.text(max_size=12)), max_size=25))
def test_sentences_join_back_exactly(parts):
    text = "".join(parts)
    pieces = split_sentences(text)
    assert "".join(pieces) == text
    assert all(pieces), "no empty sentence"
    assert all(not p[:1].isspace() for p in pieces[1:]), "the whitespace after a sentence stays with it"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ATOMS, st.text(max_size=12)), max_size=25), st.sampled_from(UNITS),
       st.one_of(st.none(), st.integers(min_value=1, max_value=6)))
def test_pieces_join_back_exactly_for_every_unit(parts, unit, max_pieces):
    text = "".join(parts)
    pieces = split_pieces(text, unit, max_pieces)
    assert "".join(pieces) == text
    assert all(pieces) and all(not p[:1].isspace() for p in pieces[1:])
    assert max_pieces is None or len(pieces) <= max_pieces


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ATOMS, st.text(max_size=12)), max_size=25))
def test_every_paragraph_boundary_is_a_sentence_boundary(parts):
    text = "".join(parts)
    assert _boundaries(split_paragraphs(text)) <= _boundaries(split_sentences(text))


@given(st.lists(st.text(min_size=1, max_size=5), max_size=30), st.integers(min_value=1, max_value=10))
def test_chunks_are_lossless_and_bounded(sentences, k):
    chunks = chunk_sentences(sentences, k)
    assert "".join(chunks) == "".join(sentences)
    assert len(chunks) <= max(k, 0) or len(chunks) == len(sentences)


def test_decimals_abbreviations_latex_and_code_stay_whole():
    text = (
        "The rate is 2.5 per hour, e.g. for Dr. Smith vs. the others. "
        "Then $x = 1. 5$ and \\frac{a. b}{c} hold. "
        "We also have \\(p. q\\) and \\[r. s\\] here! "
        "```\nprint(1. 0)\n```\n"
        "Is it done? Yes."
    )
    assert split_sentences(text) == [
        "The rate is 2.5 per hour, e.g. for Dr. Smith vs. the others. ",
        "Then $x = 1. 5$ and \\frac{a. b}{c} hold. ",
        "We also have \\(p. q\\) and \\[r. s\\] here! ",
        "```\nprint(1. 0)\n```\n",
        "Is it done? ",
        "Yes.",
    ]


def test_numbered_list_items_are_sentences_not_split_at_their_number():
    assert split_sentences("Steps:\n1. Add 2.\n2. Multiply by 3.\nDone.") == [
        "Steps:\n", "1. Add 2.\n", "2. Multiply by 3.\n", "Done.",
    ]


def test_empty_and_whitespace():
    assert split_sentences("") == []
    assert split_sentences("   ") == ["   "]



def test_split_pieces_units_and_errors():
    text = "One. Two.\n\nThree. Four.\n\nFive."
    assert split_pieces(text) == split_sentences(text) == ["One. ", "Two.\n\n", "Three. ", "Four.\n\n", "Five."]
    assert split_pieces(text, "paragraph") == ["One. Two.\n\n", "Three. Four.\n\n", "Five."]
    assert split_pieces(text, "paragraph", max_pieces=2) == ["One. Two.\n\n", "Three. Four.\n\nFive."]
    assert split_pieces(text, max_pieces=2) == ["One. Two.\n\n", "Three. Four.\n\nFive."]
    with pytest.raises(ValueError, match="unknown split unit 'line'"):
        split_pieces(text, "line")


# --- currency and math spans -------------------------------------------------------------------

def test_currency_is_not_math_and_math_after_it_is():
    assert split_sentences("It costs $5. Then we compute $x+1$.") == ["It costs $5. ", "Then we compute $x+1$."]
    # the review's case: a "$5" paired with a later "$" turned six sentences in two paragraphs into 2 pieces
    text = "A pen costs $5. We buy two. That is $10 in all.\n\nNext we set $y = 2$. Then $y+1 = 3$. Done."
    assert split_sentences(text) == [
        "A pen costs $5. ", "We buy two. ", "That is $10 in all.\n\n", "Next we set $y = 2$. ", "Then $y+1 = 3$. ", "Done.",
    ]
    assert split_paragraphs(text) == ["A pen costs $5. We buy two. That is $10 in all.\n\n", "Next we set $y = 2$. Then $y+1 = 3$. Done."]
    # pandoc's rule: "$ x$" and "$x $" are not math; a closing "$" followed by a digit is not a closer
    assert split_sentences("Pay $20,000 and $30,000. Then stop.") == ["Pay $20,000 and $30,000. ", "Then stop."]
    assert split_sentences("Here $ a. B $ ends. C.") == ["Here $ a. ", "B $ ends. ", "C."]
    assert split_sentences("Here $a. B$5 ends. C.") == ["Here $a. ", "B$5 ends. ", "C."]
    assert split_sentences("An escaped \\$ sign. Then $a. B$ holds.") == ["An escaped \\$ sign. ", "Then $a. B$ holds."]


@pytest.mark.parametrize("opener, closer", [("$", "$"), ("$$", "$$"), ("\\(", "\\)"), ("\\[", "\\]")])
def test_math_spans_cross_lines_but_never_a_blank_line(opener, closer):
    inside = f"We get {opener}a = 1.\nB = 2{closer} here. Next."
    assert split_sentences(inside) == [f"We get {opener}a = 1.\nB = 2{closer} here. ", "Next."]
    # an opener closed only after a paragraph break protects nothing: it cannot swallow the paragraphs
    across = f"We get {opener}a = 1. Bb.\n\nCc. Dd = 2{closer} here. Next."
    assert split_sentences(across) == [f"We get {opener}a = 1. ", "Bb.\n\n", "Cc. ", f"Dd = 2{closer} here. ", "Next."]
    assert len(split_paragraphs(across)) == 2


@pytest.mark.parametrize("opener", ["$$", "\\(", "\\[", "```\n", "`", "$x"])
def test_an_unclosed_span_swallows_nothing(opener):
    text = f"Start {opener} one. Two. Three.\n\nFour. Five."
    assert split_sentences(text) == [f"Start {opener} one. ", "Two. ", "Three.\n\n", "Four. ", "Five."]


def test_fenced_code_may_hold_blank_lines_and_is_its_own_piece():
    text = "Run this:\n```python\nx = 1. \n\ny = 2. \n```\nIt prints 2. Done."
    assert split_sentences(text) == ["Run this:\n", "```python\nx = 1. \n\ny = 2. \n```\n", "It prints 2. ", "Done."]
    assert split_paragraphs(text) == [text]
    # a line of backticks that is not alone on its line does not close the fence
    assert len(split_paragraphs("```\na\n``` b\n\nc. D.")) == 2


# --- line breaks, lists, headings --------------------------------------------------------------

def test_a_single_line_break_is_not_a_boundary():
    text = "So we get\n2x + 3 = 11\n2x = 8\nx = 4\nand we are done. Next."
    assert split_sentences(text) == ["So we get\n2x + 3 = 11\n2x = 8\nx = 4\nand we are done. ", "Next."]
    assert split_sentences("It is 5.\nThen 6.\nend") == ["It is 5.\n", "Then 6.\n", "end"]
    assert split_sentences("Paragraph one\n\nParagraph two") == ["Paragraph one\n\n", "Paragraph two"]
    assert split_sentences("Windows one\r\n\r\nWindows two") == ["Windows one\r\n\r\n", "Windows two"]


def test_list_items_and_headings_start_pieces():
    text = "Check:\n- tax on both\n* no rounding\n1) first\na) second\n(b) third\n## Step 2\nWe add.\n**Final Answer**\n$43$"
    assert split_sentences(text) == [
        "Check:\n", "- tax on both\n", "* no rounding\n", "1) first\n", "a) second\n", "(b) third\n", "## Step 2\n",
        "We add.\n", "**Final Answer**\n", "$43$",
    ]


def test_display_math_ends_a_piece_before_a_capitalised_line():
    text = "So:\n\\[\nx = 5\n\\]\nThen we check.\n$$\ny = 6\n$$\nwhere y counts."
    assert split_sentences(text) == ["So:\n\\[\nx = 5\n\\]\n", "Then we check.\n", "$$\ny = 6\n$$\nwhere y counts."]


def test_paragraphs_keep_their_blank_lines_and_leading_blank_text():
    text = "\n \n  First para.\nStill first.\n\n\n \nSecond.\n\n"
    assert split_paragraphs(text) == ["\n \n  First para.\nStill first.\n\n\n \n", "Second.\n\n"]
    assert split_paragraphs("\n\n") == ["\n\n"]
    assert split_paragraphs("") == []


# --- a realistic DeepSeek-R1 trace --------------------------------------------------------------

def _r1_trace():
    return R1_TRACE.read_text(encoding="utf-8")


def test_r1_trace_piece_counts_and_lossless():
    text = _r1_trace()
    sentences, paragraphs = split_sentences(text), split_paragraphs(text)
    assert (len(sentences), len(paragraphs)) == (28, 7)
    assert "".join(sentences) == "".join(paragraphs) == text
    assert _boundaries(paragraphs) <= _boundaries(sentences)
    assert [p.split("\n", 1)[0][:20] for p in paragraphs] == [
        "Okay, so I need to f", "The notebooks cost $", "Wait, that last step", "The tax is the rate ",
        "Yes, that matches. A", "Let me also check it", "**Final Answer**",
    ]
    assert split_pieces(text, "paragraph", max_pieces=3) == chunk_sentences(paragraphs, 3)
    assert len(split_pieces(text, "sentence", max_pieces=10)) == 10


def test_r1_trace_currency_decimals_abbreviations_and_lists():
    sentences = split_sentences(_r1_trace())
    assert "It costs $5. " in sentences and any(s.startswith("Then we compute $x+1$ for") for s in sentences)
    assert "So the total is $43. " in sentences and "That matches $T + S = 43$ from before.\n\n" in sentences
    assert sentences[1].startswith("She buys 3 notebooks at $5 each and 2 pens at $12.50 each,")  # decimals, e.g.
    assert sentences[1].endswith("e.g. to the pens as well as the notebooks. ")
    assert [s for s in sentences if re.match(r"(\d[.)]|[-*]) ", s)] == [
        "1. Compute the subtotal $S$.\n", "2. Compute the tax at the rate $r = 0.075$.\n", "3) Add the tax to the subtotal.\n\n",
        "- the tax applies to both items, i.e. the pens too\n", "- the price is $5 per notebook, not per pack\n",
        "* nothing is rounded before the end\n\n",
    ]
    assert sentences[-2:] == ["**Final Answer**\n", "Maya pays $\\boxed{43}$ dollars.\n"]


def test_r1_trace_no_boundary_inside_math_or_code():
    text = _r1_trace()
    spans = [m.span() for m in re.finditer(r"\\\[.*?\\\]|\$\$.*?\$\$|```.*?```", text, re.DOTALL)]
    assert [text[a:b].split("\n")[0] for a, b in spans] == ["\\[", "$$", "```python"]
    assert all("\n\n" not in text[a:b] for a, b in spans[:2]) and "\n\n" in text[slice(*spans[2])]
    inline = ["$3 \\times 5 = 15$", "$2 \\times 12.50 = 25$", "$S = 15 + 25 = 40$", "$x+1$", "$x = 5$", "$S$",
              "$r = 0.075$", "$T + S = 43$", "$\\boxed{43}$"]
    spans += [(text.index(m), text.index(m) + len(m)) for m in inline]
    equations = "3 * 5 = 15\n2 * 12.50 = 25\n15 + 25 = 40\n40 * 0.075 = 3\n40 + 3 = 43\n"
    spans.append((text.index(equations), text.index(equations) + len(equations)))
    for unit in UNITS:
        cuts = _boundaries(split_pieces(_r1_trace(), unit))
        for a, b in spans:
            assert not any(a < cut < b for cut in cuts), (unit, text[a:b])
    assert sum(equations in s for s in split_sentences(text)) == 1  # the equation block is inside one piece

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.toolkit.splitter import chunk_sentences, split_sentences

# Text built from the pieces that trip naive splitters, plus arbitrary unicode.
_ATOMS = st.sampled_from([
    "The value is 3.14. ", "e.g. ", "i.e. ", "Dr. ", "vs. ", "$x. y$", "\\(a. b\\)", "\\[c. d\\]",
    "\\frac{1. 5}{2}", "\n1. ", "\n2. ", "```\nx = 1. y\n```", ". ", "! ", "? ", "\n\n", " ", "Wait.", "{", "}", "$",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ATOMS, st.text(max_size=12)), max_size=25))
def test_sentences_join_back_exactly(parts):
    text = "".join(parts)
    pieces = split_sentences(text)
    assert "".join(pieces) == text
    assert all(pieces), "no empty sentence"


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

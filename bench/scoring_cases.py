"""Seeded inputs for bench/scoring.py: realistic long outputs and hostile fuzz outputs.

Everything is generated from `random.Random(seed)`, so a seed names one exact input set.
"""

from __future__ import annotations

import math
import random

# (gold, equivalent forms a model might box): equivalence exercises verify(), not just parse
GOLDS = [
    ("204", ["204", "204.0", "\\text{204}"]),
    ("\\frac{1}{2}", ["\\frac{1}{2}", "0.5", "\\dfrac{1}{2}", "1/2"]),
    ("2\\sqrt{3}", ["2\\sqrt{3}", "\\sqrt{12}", "\\frac{6}{\\sqrt{3}}"]),
    ("\\frac{14}{3}", ["\\frac{14}{3}", "4\\frac{2}{3}", "\\frac{28}{6}"]),
    ("(3, \\frac{\\pi}{2})", ["(3, \\frac{\\pi}{2})", "\\left(3,\\frac{\\pi}{2}\\right)"]),
    ("x^2+2x+1", ["x^2+2x+1", "(x+1)^2"]),
    ("[-2, 5)", ["[-2, 5)", "[-2,5)"]),
    ("(C)", ["(C)", "\\text{(C)}"]),
    ("-7", ["-7", "-7.00"]),
]

_WORDS = ("so we get then note that hence substituting into the equation gives us which means the "
          "term and since both sides are positive we can divide by let me check this again wait "
          "that is not right because the denominator vanishes when").split()


def _equation(rng: random.Random) -> str:
    a, b, c, d = (rng.randint(1, 99) for _ in range(4))
    return rng.choice([
        f"\\frac{{{a}x + {b}}}{{{c}}} = {d}",
        f"x^{{{a % 7 + 2}}} - {b}x + {c} = 0",
        f"\\sqrt{{{a}^2 + {b}^2}} = \\sqrt{{{a * a + b * b}}}",
        f"\\sum_{{k=1}}^{{{a}}} k = \\frac{{{a}\\cdot {a + 1}}}{{2}} = {a * (a + 1) // 2}",
        f"\\left( \\frac{{{a}}}{{{b}}} \\right)^{{2}} = \\frac{{{a * a}}}{{{b * b}}}",
        f"{a} \\cdot {b} + {c} = {a * b + c}",
        f"\\binom{{{a % 20 + 2}}}{{2}} = {(a % 20 + 2) * (a % 20 + 1) // 2}",
        f"\\sin^2\\theta + \\cos^2\\theta = 1 \\implies \\theta = \\frac{{\\pi}}{{{c % 12 + 1}}}",
    ])


def long_output(rng: random.Random, target_chars: int) -> tuple[str, str]:
    """(gold, output): chain-of-thought-like text with LaTeX; ~20% end without a box."""
    gold, forms = rng.choice(GOLDS)
    parts: list[str] = ["<think>"] if rng.random() < 0.3 else []
    size = 0
    while size < target_chars:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 30)))
        if rng.random() < 0.5:
            chunk = f"{sentence.capitalize()} ${_equation(rng)}$."
        else:
            eqs = " \\\\\n".join(_equation(rng) for _ in range(rng.randint(2, 6)))
            chunk = f"{sentence.capitalize()}:\n\\[\n\\begin{{aligned}}\n{eqs}\n\\end{{aligned}}\n\\]"
        if rng.random() < 0.05:  # a model that boxes an intermediate guess
            chunk += f" Tentatively \\boxed{{{rng.randint(1, 999)}}}, but let me verify."
        parts.append(chunk)
        size += len(chunk) + 2
    if parts[0] == "<think>":
        parts.append("</think>")
    answer = rng.choice(forms) if rng.random() < 0.6 else str(rng.randint(1, 999))
    roll = rng.random()
    if roll < 0.8:
        parts.append(f"Therefore, the final answer is $\\boxed{{{answer}}}$.")
    elif roll < 0.9:
        parts.append(f"So the answer is {answer}.")
    else:
        parts.append("I need to reconsider the second case")  # cut off by the token limit
    return gold, "\n\n".join(parts)


# --- hostile outputs -------------------------------------------------------------------

def _box(s: str) -> str:
    return "\\boxed{" + s + "}"


def _logint(rng: random.Random, lo: int, hi: int) -> int:
    """Log-uniform: sizes from mild to extreme, so the fuzz probes the edge where parsing
    stops being quick, not only inputs that are certain to time out."""
    return min(hi, int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))))


def _nest(rng: random.Random, open_: str, close: str, lo: int, hi: int, core: str = "1") -> str:
    n = _logint(rng, lo, hi)
    return open_ * n + core + close * n


def _tower(rng: random.Random, braces: bool) -> str:
    levels = [str(rng.choice([2, 9, 10, 99, 10**6])) for _ in range(rng.randint(3, 6))]
    if braces:
        s = levels[-1]
        for b in reversed(levels[:-1]):
            s = f"{b}^{{{s}}}"
        return s
    return "^".join(levels)


def _unicode_junk(rng: random.Random, n: int) -> str:
    pools = [(0x0300, 0x036F), (0x200B, 0x200F), (0x202A, 0x202E), (0xFF10, 0xFF19), (0x1F600, 0x1F64F),
             (0x4E00, 0x4E80), (0xD800, 0xDFFF), (0x0, 0x1F), (0xE000, 0xE0FF), (0x10FFF0, 0x10FFFF)]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(pools)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def _matrix(rng: random.Random) -> str:
    n = _logint(rng, 2, 80)
    rows = " \\\\ ".join(" & ".join(str(rng.randint(-9, 9)) for _ in range(n)) for _ in range(n))
    return f"\\det\\begin{{pmatrix}} {rows} \\end{{pmatrix}}"


def _hostile(kind: str, rng: random.Random) -> str:
    r = rng.randint
    if kind == "deep_braces":
        return _box(_nest(rng, "{", "}", 1, 500_000))
    if kind == "deep_parens":
        return _box(_nest(rng, "(", ")", 1, 50_000))
    if kind == "nested_frac":
        return _box(_nest(rng, "\\frac{1}{", "}", 5, 3_000, core="2"))
    if kind == "nested_sqrt":
        return _box(_nest(rng, "\\sqrt{", "}", 5, 3_000, core="2"))
    if kind == "left_right":
        return _box(_nest(rng, "\\left(", "\\right)", 1, 5_000))
    if kind == "tower":
        return _box(_tower(rng, braces=rng.random() < 0.5))
    if kind == "huge_exp":
        return _box(rng.choice([f"10^{{10^{{{r(3, 12)}}}}}", f"2^{{2^{{{r(20, 64)}}}}}", f"{r(2, 99)}^{{{r(10**6, 10**12)}}}",
                                f"(10^{{{r(3, 9)}}})^{{(10^{{{r(3, 9)}}})}}", f"e^{{e^{{e^{{{r(5, 50)}}}}}}}"]))
    if kind == "huge_number":
        digits = "".join(rng.choice("0123456789") for _ in range(r(5_000, 100_000)))
        return _box(rng.choice([digits, f"\\frac{{{digits}}}{{{digits[::-1] or 1}}}", f"0.{digits}", f"{digits}e{r(1, 10**6)}"]))
    if kind == "factorial":
        return _box(rng.choice([f"{r(10**4, 10**9)}!", f"(10^{{{r(4, 12)}}})!", "100!!!!", f"\\Gamma({r(10**5, 10**9)})",
                                f"\\binom{{{r(10**6, 10**9)}}}{{{r(10**5, 10**6)}}}", f"{r(1000, 9999)}!^{{{r(100, 999)}}}"]))
    if kind == "unbalanced":
        body = "".join(rng.choice("{}{}()[]\\left\\right$") for _ in range(r(10, 20_000)))
        return rng.choice(["\\boxed{" + body, _box(body), body + "\\boxed{5", "}" * r(1, 999) + _box("5") + "{" * r(1, 999)])
    if kind == "megabyte":
        block = rng.choice(["x = 1 + 2 ", "$\\frac{a}{b}$ and ", "\\boxed{", "{{{{(((( ", "7" * 64 + " "])
        text = block * (r(1_000_000, 3_000_000) // len(block))
        return text + (_box(str(r(0, 9))) if rng.random() < 0.5 else "")
    if kind == "latex_soup":
        cmds = ["\\begin{array}", "\\end{matrix}", "\\over", "\\choose", "\\underbrace{", "\\overset{", "\\mathbf{",
                "\\operatorname{", "\\\\", "&", "_", "^", "\\int", "\\lim_{x\\to\\infty}", "\\prod", "\\cdots", "%", "#", "~", "\\text{"]
        return _box(" ".join(rng.choice(cmds) + str(r(0, 9)) for _ in range(r(50, 5_000))))
    if kind == "symbolic":
        n = r(50, 2_000)
        return _box(rng.choice([f"(x+1)^{{{n}}}", f"(a+b+c+d)^{{{n // 10}}}", f"\\sum_{{k=1}}^{{10^{{{r(6, 100)}}}}} k^{{{r(2, 9)}}}",
                                f"\\prod_{{k=1}}^{{{n * 1000}}} k", f"\\int_0^{{{n}}} x^{{{n}}} e^{{-x}} dx", f"\\sin(10^{{{n}}})",
                                "+".join(f"x_{{{i}}}^{{{i}}}" for i in range(n)), f"\\lim_{{n\\to\\infty}} (1+1/n)^{{n^{{{n}}}}}"]))
    if kind == "matrix":
        return _box(_matrix(rng))
    if kind == "many_boxes":
        return " ".join(_box(str(r(0, 99))) for _ in range(r(1_000, 50_000)))
    if kind == "nested_boxes":
        return _nest(rng, "\\boxed{", "}", 10, 20_000, core=str(r(0, 9)))
    if kind == "big_set":
        items = ", ".join(str(r(-10**6, 10**6)) for _ in range(_logint(rng, 2, 20_000)))
        return _box(rng.choice([f"\\{{{items}\\}}", f"({items})", f"[{items}]"]))
    if kind == "unicode":
        return rng.choice([_box(_unicode_junk(rng, r(1, 5_000))), _unicode_junk(rng, r(1, 100_000)),
                           _box("５") + _unicode_junk(rng, 50), "\ufeff" + _box("5\u200b")])
    if kind == "control_chars":
        junk = "".join(chr(r(0, 31)) for _ in range(r(1, 10_000)))
        return rng.choice([_box("5" + "\x00" * r(1, 1000)), junk + _box("5"), _box(junk), "\x00" * r(1, 10**6)])
    if kind == "think_tags":
        return rng.choice(["<think>" * r(1, 10_000) + _box("5"), "</think>" * r(1, 10_000) + _box("5"),
                           _nest(rng, "<think>", "</think>", 10, 5_000, core=_box("5")), "<think>" + _box("5")])
    if kind == "decimal_sci":
        return _box(rng.choice([f"1e{r(10**5, 10**9)}", f"10^{{-{r(10**5, 10**9)}}}", "0." + "0" * r(1000, 100_000) + "1",
                                f"{r(1, 9)}.{r(1, 9)}\\times 10^{{{r(10**5, 10**9)}}}", "9" * r(1000, 9999) + ".5"]))
    raise ValueError(kind)


HOSTILE_KINDS = ("deep_braces", "deep_parens", "nested_frac", "nested_sqrt", "left_right", "tower", "huge_exp",
                 "huge_number", "factorial", "unbalanced", "megabyte", "latex_soup", "symbolic", "matrix",
                 "many_boxes", "nested_boxes", "big_set", "unicode", "control_chars", "think_tags", "decimal_sci")


def hostile_outputs(seed: int, n: int) -> list[tuple[str, str, str]]:
    """n (kind, gold, output) triples, kinds round-robin so every kind appears ~n/len(kinds) times."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = HOSTILE_KINDS[i % len(HOSTILE_KINDS)]
        out.append((kind, rng.choice(GOLDS)[0], _hostile(kind, rng)))
    return out

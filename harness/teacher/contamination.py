"""Word n-gram overlap of teacher problems against every registered benchmark.

Texts are normalised (Unicode NFKC, lower case, punctuation and LaTeX markup to spaces)
and compared as word n-grams (`TeacherConfig.ngram`, 13 by default, as in the GPT-3 and
Llama reports). A problem shorter than n words cannot hold an n-gram, so it is flagged
when its whole word sequence appears inside a benchmark problem (or, below
`MIN_WORDS` words, only when the two texts are identical); likewise a short benchmark
problem is caught when it appears whole inside a teacher problem.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MIN_WORDS = 4  # below this a shared word sequence is too common to mean anything
_NON_WORD = re.compile(r"[^\w]+")


def words(text: str) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKC", text).lower()
    return tuple(w for w in _NON_WORD.sub(" ", text.replace("_", " ")).split() if w)


def ngrams(seq: tuple[str, ...], n: int) -> Iterable[tuple[str, ...]]:
    return (seq[i : i + n] for i in range(len(seq) - n + 1))


@dataclass
class _Bench:
    name: str
    ids: list[str]
    texts: list[tuple[str, ...]]


class BenchmarkIndex:
    """n-grams of benchmark problems, with per-length indexes built on demand for short texts."""

    def __init__(self, benches: list[_Bench], n: int) -> None:
        self.n = n
        self.benches = benches
        self._by_len: dict[int, dict[tuple[str, ...], tuple[str, str]]] = {}
        self.exact: dict[tuple[str, ...], tuple[str, str]] = {}
        self.short: dict[tuple[str, ...], tuple[str, str]] = {}  # benchmark problems shorter than n
        for bench in benches:
            for pid, seq in zip(bench.ids, bench.texts):
                self.exact.setdefault(seq, (bench.name, pid))
                if MIN_WORDS <= len(seq) < n:
                    self.short.setdefault(seq, (bench.name, pid))
        self._by_len[n] = self._grams(n)

    def _grams(self, k: int) -> dict[tuple[str, ...], tuple[str, str]]:
        if k not in self._by_len:
            table: dict[tuple[str, ...], tuple[str, str]] = {}
            for bench in self.benches:
                for pid, seq in zip(bench.ids, bench.texts):
                    for gram in ngrams(seq, k):
                        table.setdefault(gram, (bench.name, pid))
            self._by_len[k] = table
        return self._by_len[k]

    def match(self, text: str) -> dict[str, str] | None:
        seq = words(text)
        if not seq:
            return None
        if seq in self.exact:
            return _hit(self.exact[seq], "whole-text")
        if len(seq) < MIN_WORDS:
            return None
        if len(seq) < self.n:  # too short for an n-gram: look for the whole text inside a benchmark problem
            where = self._grams(len(seq)).get(seq)
            return _hit(where, f"whole-text ({len(seq)} words)") if where else None
        table = self._grams(self.n)
        hits = [(i, table[gram]) for i, gram in enumerate(ngrams(seq, self.n)) if gram in table]
        if hits:
            # how much of the problem lies inside shared n-grams: a templated sentence in common
            # (synthetic problems) covers little, a copied problem covers nearly all of it
            covered = {j for i, _ in hits for j in range(i, i + self.n)}
            return {**_hit(hits[0][1], f"{self.n}-gram"), "coverage": round(len(covered) / len(seq), 3)}
        lengths = {len(s) for s in self.short}
        for k in lengths:
            for gram in ngrams(seq, k):
                if gram in self.short:
                    return _hit(self.short[gram], f"benchmark problem inside ({k} words)")
        return None


def _hit(where: tuple[str, str], how: str) -> dict[str, str]:
    return {"benchmark": where[0], "benchmark_id": where[1], "match": how}


@contextlib.contextmanager
def _hub_cache_only() -> Iterator[None]:
    """"Available" means on disk (data dir or Hub cache): a check must not download every benchmark."""
    saved = []
    try:
        import datasets.config as dconf
        import huggingface_hub.constants as hconst

        for mod, name in ((hconst, "HF_HUB_OFFLINE"), (dconf, "HF_HUB_OFFLINE"), (dconf, "HF_DATASETS_OFFLINE")):
            saved.append((mod, name, getattr(mod, name)))
            setattr(mod, name, True)
    except ImportError:
        pass
    try:
        yield
    finally:
        for mod, name, value in saved:
            setattr(mod, name, value)


def load_benchmarks(data_dir: str | None, names: list[str] | None = None) -> tuple[list[_Bench], dict[str, str]]:
    """Every registered benchmark whose data can be loaded; the others with the reason."""
    from harness.eval.benchmarks import BENCHMARKS, get_benchmark

    loaded, unavailable = [], {}
    for name in names if names is not None else BENCHMARKS.names():
        try:
            with _hub_cache_only():
                problems = get_benchmark(name).load(data_dir)
        except Exception as exc:  # unavailable data is reported, never fatal
            unavailable[name] = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            continue
        loaded.append(_Bench(name, [p.id for p in problems], [words(p.problem) for p in problems]))
    return loaded, unavailable


def benchmark_digest(data_dir: str | None, benchmarks: list[str] | None = None) -> dict[str, Any]:
    """What the check will read, by content: per benchmark, a digest of its ids and problem texts.

    The teacher key holds this rather than `eval.data_dir`: the same folder path can hold other
    files on another machine, and the data may come from `$HARNESS_DATA_DIR` or the Hub cache.
    """
    benches, unavailable = load_benchmarks(data_dir, benchmarks)
    digests = {}
    for bench in benches:
        h = hashlib.sha256()
        for pid, seq in zip(bench.ids, bench.texts):
            h.update(json.dumps([pid, list(seq)]).encode())
        digests[bench.name] = h.hexdigest()[:16]
    return {"checked": digests, "unavailable": sorted(unavailable)}


def check_contamination(
    problems: list[dict[str, Any]], n: int = 13, data_dir: str | None = None, benchmarks: list[str] | None = None
) -> dict[str, Any]:
    """Flag teacher problems (dicts with id, problem) that overlap any available benchmark."""
    benches, unavailable = load_benchmarks(data_dir, benchmarks)
    index = BenchmarkIndex(benches, n)
    flagged = []
    for rec in problems:
        hit = index.match(rec["problem"])
        if hit is not None:
            flagged.append({"id": rec["id"], **hit})
    return {
        "ngram": n,
        "checked": {b.name: len(b.ids) for b in benches},
        "unavailable": unavailable,
        "num_flagged": len(flagged),
        "flagged": flagged,
    }

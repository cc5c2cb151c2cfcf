"""The real math benchmarks: Hugging Face datasets, or local JSONL files in the same schema.

Data is looked up in order: `data_dir` (`eval.data_dir`, `--data-dir`), `$HARNESS_DATA_DIR`, then the Hub
through `datasets`. A local folder holds `<name>.jsonl` with `id`, `problem`, `answer`.

Each Hub benchmark is pinned to a dataset revision (a commit of the dataset repository), so
the Hub's `main` moving on never changes what a benchmark holds; the benchmark checksum in
every eval key and result records what was actually scored. The revisions below are the
repositories' commits as recorded by other public evaluation projects (they could not be
checked against the Hub from this project's offline machines; a wrong one fails loudly at
load time, never silently). A plugin can register the same dataset at another revision.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import HarnessError, clip
from harness.eval.benchmarks import Benchmark, Problem, register_benchmark
from harness.flag_names import spell
from harness.jsonl import read_jsonl

DATA_ENV = "HARNESS_DATA_DIR"


def normalize_answer_field(value) -> str:
    """Gold answers as strings; whole-number floats (AMC's `142.0`) become `142`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# What each field may hold: a number is a fine id or answer (AMC's 142.0), but a mapping or
# a list stringified into a prompt or a gold answer would be graded as nonsense, silently.
_FIELD_TYPES = {"id": ((str, int), "a string or an integer"), "problem": ((str,), "a string"),
                "answer": ((str, int, float), "a string or a number")}


def read_local(path: Path, name: str) -> list[Problem]:
    problems, lines = [], {}
    for i, row in enumerate(read_jsonl(path), start=1):
        missing = [f for f in ("id", "problem", "answer") if f not in row]
        if missing:
            raise HarnessError(f"{path}:{i}: missing field {missing[0]!r} (need id, problem, answer)")
        for field, (types, wanted) in _FIELD_TYPES.items():
            if not isinstance(row[field], types) or isinstance(row[field], bool):
                raise HarnessError(f"{path}:{i}: field {field!r} must be {wanted}, got {type(row[field]).__name__}")
        problem = Problem(str(row["id"]), str(row["problem"]), normalize_answer_field(row["answer"]))
        if problem.id in lines:
            raise HarnessError(f"{path}:{i}: problem id {problem.id!r} already used on line {lines[problem.id]}")
        lines[problem.id] = i
        problems.append(problem)
    if not problems:
        raise HarnessError(f"{path}: no problems in benchmark {name!r}")
    return problems


def local_file(name: str, data_dir: str | None) -> Path | None:
    """The local JSONL for `name`, or None to fall back to the Hub; an explicit dir must have it."""
    for source, folder in ((spell("eval.data_dir"), data_dir), (DATA_ENV, os.environ.get(DATA_ENV))):
        if folder:
            path = Path(folder).expanduser() / f"{name}.jsonl"
            if path.exists() and not path.is_file():
                raise HarnessError(f"benchmark {name!r}: {path} is not a file (from {source})")
            if not path.is_file():
                raise HarnessError(f"benchmark {name!r}: {path} not found (from {source})")
            return path
    return None


class HubBenchmark(Benchmark):
    """A Hub dataset (id, split, field mapping) that a local JSONL can stand in for."""

    def __init__(
        self,
        name: str,
        hf_id: str,
        split: str,
        description: str = "",
        problem_field: str = "problem",
        answer_field: str = "answer",
        id_field: str | None = "id",
        config: str | None = None,
        revision: str | None = None,
    ) -> None:
        self.name, self.hf_id, self.split, self.description = name, hf_id, split, description
        self.problem_field, self.answer_field, self.id_field, self.config = problem_field, answer_field, id_field, config
        self.revision = revision

    @property
    def source(self) -> str:
        return f"{self.hf_id}@{self.revision[:12]}" if self.revision else self.hf_id

    def load(self, data_dir: str | None = None) -> list[Problem]:
        path = local_file(self.name, data_dir)
        if path is not None:
            return read_local(path, self.name)
        return self._load_hub()

    def _load_hub(self) -> list[Problem]:
        from harness.hub import offline_now

        offline = offline_now()  # decided once: offline, the load below answers from the cache at once
        try:
            import datasets

            rows = datasets.load_dataset(self.hf_id, self.config, split=self.split, revision=self.revision)
        except Exception as exc:  # offline, missing, gated: all mean "supply the data yourself"
            reason = clip(str(exc).strip().splitlines()[0], 120) if str(exc).strip() else type(exc).__name__
            where = (f"offline ({offline}) and {self.source} is not in the local cache" if offline
                     else f"cannot load {self.source} from the Hub ({reason})")
            raise HarnessError(
                f"benchmark {self.name!r}: {where}; "
                f"give {spell('eval.data_dir', 'DIR')} or set {DATA_ENV}=DIR, a folder with {self.name}.jsonl "
                f"(fields id, problem, answer)"
            ) from None
        return [
            Problem(
                str(row[self.id_field]) if self.id_field and self.id_field in row else f"{self.name}-{i}",
                str(row[self.problem_field]),
                normalize_answer_field(row[self.answer_field]),
            )
            for i, row in enumerate(rows)
        ]


HUB_BENCHMARKS = (
    HubBenchmark("aime24", "HuggingFaceH4/aime_2024", "train", "AIME 2024 I + II (30 problems)",
                 revision="2fe88a2f1091d5048c0f36abc874fb997b3dd99a"),
    HubBenchmark("aime25", "yentinglin/aime_2025", "train", "AIME 2025 I + II (30 problems)",
                 revision="6f71d77b0b89b9dabe07ab466c51df33f514df7f"),
    HubBenchmark("amc12", "AI-MO/aimo-validation-amc", "train", "AMC 12 2022 + 2023, integer answers (83 problems)",
                 revision="69d78a4a2c840e82d69af6bc742bda09005f6316"),
    HubBenchmark("math500", "HuggingFaceH4/MATH-500", "test", "MATH-500 (500 problems)", id_field="unique_id",
                 revision="6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be"),
)

for _bench in HUB_BENCHMARKS:
    register_benchmark(_bench.name)(_bench)

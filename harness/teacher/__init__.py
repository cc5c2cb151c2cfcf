"""Teacher data: one traces JSONL per (source, settings), shared by every method.

`make_traces(cfg, store)` builds the teacher store stage from the configured source
(`synth`, `s1k` or `model`, see `harness.teacher.sources`), checks it for benchmark
contamination and writes traces.jsonl + summary.json; `load_traces(path)` reads it back.
"""

from harness.teacher.stage import load_traces, make_traces, teacher_stage

__all__ = ["load_traces", "make_traces", "teacher_stage"]

"""Evaluation: benchmarks, prompts, generation store, sandboxed grading, metrics."""

"""`synth_easy` and `synth_hard`: held-out synthetic benchmarks from the benchmark stream.

They use the default world seed and size, so every run and every leaderboard entry is
scored on the same problems, whatever world a student was built in.
"""

from __future__ import annotations

from harness.config import WorldConfig
from harness.eval.benchmarks import Benchmark, Problem, register_benchmark
from harness.synth.problems import synth_problems


class SynthBenchmark(Benchmark):
    tier = ""

    def load(self, data_dir: str | None = None) -> list[Problem]:  # data_dir: nothing to read
        world = WorldConfig()
        return synth_problems("benchmark", self.tier, world.benchmark_size, world.seed)


@register_benchmark("synth_easy")
class SynthEasy(SynthBenchmark):
    name = "synth_easy"
    tier = "easy"
    description = "Synthetic word problems, 1-2 changes, small numbers (the base student's home ground)."


@register_benchmark("synth_hard")
class SynthHard(SynthBenchmark):
    name = "synth_hard"
    tier = "hard"
    description = "Synthetic word problems, 5-7 changes with bags, doubling, sharing and distractors."

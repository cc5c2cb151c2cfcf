"""The synthetic benchmarks: held-out problems of the benchmark stream (and the dev split).

- `synth_target`: the key-step tier the students cannot yet solve (400 problems): what
  distillation should teach.
- `synth_routine`: the tier the students learned in pretraining (200): retention.
- `synth_target_dev`, `synth_routine_dev`: the same tiers from the `dev` stream, the split
  the world and the recipe were tuned on. Boards never report them.

They use the default world seed and sizes, so every run and every leaderboard entry is
scored on the same problems, whatever world a student was built in.
"""

from __future__ import annotations

from harness.config import WorldConfig
from harness.eval.benchmarks import Benchmark, Problem, register_benchmark
from harness.synth.problems import synth_problems


class SynthBenchmark(Benchmark):
    tier = ""
    stream = "benchmark"

    def load(self, data_dir: str | None = None) -> list[Problem]:  # data_dir: nothing to read
        world = WorldConfig()
        size = world.benchmark_size if self.tier == "target" else world.routine_benchmark_size
        return synth_problems(self.stream, self.tier, size, world.seed)


@register_benchmark("synth_target")
class SynthTarget(SynthBenchmark):
    name = "synth_target"
    tier = "target"
    description = "Synthetic word problems with one key step (twice/three times as many, plus b) the students never saw in pretraining."


@register_benchmark("synth_routine")
class SynthRoutine(SynthBenchmark):
    name = "synth_routine"
    tier = "routine"
    description = "Synthetic word problems of routine changes only (the students' pretraining tier): retention."


@register_benchmark("synth_target_dev")
class SynthTargetDev(SynthBenchmark):
    name = "synth_target_dev"
    tier = "target"
    stream = "dev"
    description = "Development split of synth_target (tuning only)."


@register_benchmark("synth_routine_dev")
class SynthRoutineDev(SynthBenchmark):
    name = "synth_routine_dev"
    tier = "routine"
    stream = "dev"
    description = "Development split of synth_routine (tuning only)."

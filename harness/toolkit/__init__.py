"""The method toolkit: what a distillation method builds on, public for plugins.

- `harness.toolkit.generation`: the student's cached, resumable generator and the
  continuation grader (a continuation is graded alone, on its own closed final answer).
- `harness.toolkit.splitter`: lossless sentence / paragraph splitting of teacher CoTs.
- `harness.toolkit.prefix`: the prefix path shared by `palign` and `fixed_trunc`: fit the
  prefix to the student's context, let the student continue, keep correct continuations,
  count every dropped trace by reason.
"""

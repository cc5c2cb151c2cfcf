"""Trainer callbacks and the numbers read off a finished Trainer for the training report."""

from __future__ import annotations

import math
from typing import Any


def progress_log_callback() -> Any:
    from transformers import TrainerCallback

    from harness.console import log, progress

    class ProgressLog(TrainerCallback):
        """Training progress through the harness's console: a bar in a terminal, log lines elsewhere.

        Replaces transformers' printer and tqdm callbacks, which write raw dicts
        (`{'loss': ...}`) to stdout: each logged step becomes one readable line."""

        def __init__(self) -> None:
            self.bar: Any = None
            self.task: Any = None

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                self.bar = progress()
                self.bar.start()
                self.task = self.bar.add_task("train steps", total=state.max_steps, completed=state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(self.task, completed=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                fields = ", ".join(f"{k} {_number(logs[k])}" for k in _LOGGED if k in logs)
                log(f"train step {state.global_step}/{state.max_steps} (epoch {state.epoch or 0:.2f}): {fields}")

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.stop()
                self.bar = None

    return ProgressLog()


_LOGGED = ("loss", "grad_norm", "learning_rate", "mean_token_accuracy", "train_loss", "train_runtime")


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def epoch_length_callback() -> Any:
    from transformers import TrainerCallback

    class EpochLength(TrainerCallback):
        """Remember how many batches per epoch (per process) the Trainer's own dataloader yields."""

        epoch_batches: int | None = None

        def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
            if train_dataloader is not None and hasattr(train_dataloader, "__len__"):
                self.epoch_batches = len(train_dataloader)

    return EpochLength()


def log_last_step_callback() -> Any:
    from transformers import TrainerCallback

    class LogLastStep(TrainerCallback):
        """Log the last step too, so `final_loss` is the end of training, not the last multiple of logging_steps.

        Also log at every checkpoint: a resumed Trainer averages its next logged loss only over
        the steps it ran itself, so a checkpoint inside a logging interval would make that
        interval's loss (and `final_loss`) differ from an uninterrupted run's. Runs after
        DefaultFlowCallback, which decides `should_save` for this step."""

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps or control.should_save:
                control.should_log = True
            return control

    return LogLastStep()


def examples_seen(trainer: Any) -> int:
    """Training examples fed to the model over all optimizer steps, counting repeats.

    Every step takes per-device batch x gradient accumulation x data-parallel world size
    examples (the Trainer's `get_total_train_batch_size`), except that an epoch holds only the
    data there is: the last step of an epoch can be short, and padding that makes batches even
    across processes is not counted. So: full epochs x examples, plus the steps of a partial
    last epoch x the total batch, capped at the examples. Computed from the Trainer's own
    epoch length and step count, so it is the same after a resume."""
    examples = len(trainer.train_dataset)
    total_batch = trainer.get_total_train_batch_size(trainer.args)
    batches = next((cb.epoch_batches for cb in trainer.callback_handler.callbacks
                    if getattr(cb, "epoch_batches", None)), None)
    if not batches:  # the per-epoch length is unknown: assume one step per total batch
        batches = math.ceil(examples * trainer.args.gradient_accumulation_steps / total_batch)
    grad_acc = trainer.args.gradient_accumulation_steps
    steps_per_epoch = max(batches // grad_acc + int(batches % grad_acc > 0), 1)  # as the Trainer computes it
    steps = trainer.state.global_step
    full, partial = divmod(steps, steps_per_epoch)
    return full * examples + min(partial * total_batch, examples)


def mean_logged_loss(log_history: list[dict[str, Any]]) -> float | None:
    """Mean loss per step over the whole run, from the logged interval means weighted by their steps.

    The Trainer's own `training_loss` only sums the losses of steps run since the last resume,
    so after a kill it is wrong; the log history is restored from the checkpoint and, with a log
    at every checkpoint (`LogLastStep`), each interval's mean covers exactly its own steps."""
    total, last = 0.0, 0
    for entry in log_history:
        if "loss" in entry and "step" in entry and entry["step"] > last:
            total += entry["loss"] * (entry["step"] - last)
            last = entry["step"]
    return total / last if last else None

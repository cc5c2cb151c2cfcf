"""The transformers engine: batched, left-padded, KV-cached generation on CPU or GPU.

Prompts are sorted by length before batching (less padding), generation stops at the
end of the assistant turn, and sampling is per-sample seeded (see `sampling.py`), so
the text of sample j of a request is the same whatever batch it ran in.

The decoding loop is our own rather than `model.generate`: continuous batching
(`decoding.py`), where finished rows leave the batch and queued prompts take their places.
On CPU, `engine.cpu_processes` > 1 shares each call's rows with forked single-threaded
helpers (`cpu_helpers.py`).
"""

from __future__ import annotations

from harness.config import EngineConfig, SamplingConfig
from harness.engines.base import Completion, GenerationRequest, check_context, model_context
from harness.engines.sampling import sample_seed
from harness.errors import HarnessError

# Tokens that end an assistant turn in common chat templates (Qwen, Llama 3, Gemma, Phi).
END_OF_TURN = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<end_of_turn>", "<|end|>")


def decode_text(tokenizer, tokens: list[int]) -> str:
    """A completion's text from its generated tokens (its stop token left off), as this engine writes it."""
    return tokenizer.decode(tokens, skip_special_tokens=True)


def _pick_device(name: str) -> str:
    import torch

    if name != "auto":
        return name
    return "cuda" if torch.cuda.is_available() else "cpu"


def _pick_dtype(name: str, device: str):
    import torch

    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
    except KeyError:
        raise HarnessError(f"engine.dtype must be auto, float32, bfloat16 or float16, not {name!r}") from None


class HFEngine:
    name = "transformers"

    def __init__(self, model: str, cfg: EngineConfig) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        self.model_id = model
        self.cfg = cfg
        # Callers store results after each call of this many rows: several batches, so that
        # queued rows can refill a batch (continuous batching), few enough that a kill loses little.
        self.chunk_size = 4 * max(1, cfg.batch_size) * max(1, cfg.cpu_processes)
        self._helpers = None
        self.device = _pick_device(cfg.device)
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model)
            self.model = AutoModelForCausalLM.from_pretrained(model, dtype=_pick_dtype(cfg.dtype, self.device))
        except OSError as exc:
            raise HarnessError(f"cannot load model {model!r}: {str(exc).splitlines()[0]}") from None
        self.model.to(self.device).eval()
        self.max_context = model_context(self.model.config, cfg.max_model_len)
        self._tokenizer.padding_side = "left"
        if self._tokenizer.pad_token_id is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self.stop_ids = self._stop_ids()
        # The model's own sampling defaults (temperature, repetition penalty...) must not
        # leak into generation: every decoding choice comes from our SamplingConfig.
        self.model.generation_config = GenerationConfig(
            eos_token_id=self.stop_ids, pad_token_id=self._tokenizer.pad_token_id, do_sample=False
        )

    @property
    def tokenizer(self):
        return self._tokenizer

    def close(self) -> None:
        """Drop the model's weights and KV buffers; `free_memory` then returns them to the device."""
        if self._helpers is not None:
            self._helpers.close()
            self._helpers = None
        self.model = None

    def _decode(self, work: list, sampling: SamplingConfig) -> list[tuple[object, list[int]]]:
        """Decode `work` here, or split it with helper processes (`cpu_helpers.py`) on CPU."""
        from harness.engines.cpu_helpers import DecodeHelpers, one_thread
        from harness.engines.decoding import decode

        args = (sampling, self.stop_ids, max(1, self.cfg.batch_size))
        processes = self.cfg.cpu_processes if self.device == "cpu" else 1
        if processes <= 1 or len(work) < 2 * processes:
            return list(decode(self.model, self._tokenizer, work, *args, self.device))
        if self._helpers is None:
            self._helpers = DecodeHelpers(self.model, self._tokenizer, self.device, processes - 1)
        # work is sorted longest prompt first: dealing it out in turn gives each process a like share
        shards = [work[i::processes] for i in range(processes)]
        try:
            self._helpers.submit(shards[1:], *args)
            with one_thread():
                mine = list(decode(self.model, self._tokenizer, shards[0], *args, self.device))
            return mine + self._helpers.results()
        except BaseException:
            # A helper may still owe this call's rows: a later call must never read them.
            self._helpers.close()
            self._helpers = None
            raise

    def _stop_ids(self) -> list[int]:
        ids = set()
        eos = self.model.generation_config.eos_token_id
        ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self._tokenizer.eos_token_id is not None:
            ids.add(self._tokenizer.eos_token_id)
        vocab = self._tokenizer.get_vocab()
        ids.update(vocab[t] for t in END_OF_TURN if t in vocab)
        return sorted(ids)

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[list[Completion]]:
        greedy = sampling.temperature <= 0
        # One row per (request, sample); greedy samples are identical, so run each prompt once.
        rows = [(r, j) for r, req in enumerate(requests) for j in (req.sample_indices[:1] if greedy else req.sample_indices)]
        prompt_lengths = [len(ids) for ids in self._tokenizer([q.prompt for q in requests], add_special_tokens=False)["input_ids"]]
        budgets = check_context(requests, prompt_lengths, sampling.max_new_tokens, self.max_context, self.model_id)
        lengths = [prompt_lengths[r] for r, _ in rows]
        order = sorted(range(len(rows)), key=lambda i: -lengths[i])
        work = [(rows[i], requests[rows[i][0]].prompt, sample_seed(sampling.seed, requests[rows[i][0]].seed_key, rows[i][1]),
                 budgets[rows[i][0]]) for i in order]
        done = {key: self._completion(tokens) for key, tokens in self._decode(work, sampling)}
        out = []
        for r, req in enumerate(requests):
            if greedy:
                first = done[(r, req.sample_indices[0])] if req.sample_indices else None
                out.append([first for _ in req.sample_indices])
            else:
                out.append([done[(r, j)] for j in req.sample_indices])
        return out

    def _completion(self, tokens: list[int]) -> Completion:
        stops = set(self.stop_ids)
        end = next((i for i, t in enumerate(tokens) if t in stops), None)
        if end is None:
            return Completion(decode_text(self._tokenizer, tokens), len(tokens), "length", list(tokens))
        # the stop token counts as generated, as in vLLM's token_ids
        return Completion(decode_text(self._tokenizer, tokens[:end]), end + 1, "stop", list(tokens[:end + 1]))

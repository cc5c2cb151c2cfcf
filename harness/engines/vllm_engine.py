"""The vLLM engine: same interface as the transformers engine, imported only when chosen.

Each (prompt, sample index) is its own vLLM request with `SamplingParams(n=1, seed=...)`
seeded from (seed, seed_key, j), so sample j does not depend on which other samples run
beside it, nor on resume. Prompts are passed as token ids (tokenized without special
tokens, like the transformers engine) so the chat template is not given a second BOS.
"""

from __future__ import annotations

from harness.config import EngineConfig, SamplingConfig
from harness.engines.base import Completion, GenerationRequest, check_context
from harness.engines.hf import END_OF_TURN
from harness.engines.sampling import sample_seed
from harness.errors import HarnessError


class VLLMEngine:
    name = "vllm"
    requires = "vllm"  # checked by the factory before this engine is built
    chunk_size = 2048  # samples per call: vLLM batches internally; the runner flushes after each call

    def __init__(self, model: str, cfg: EngineConfig) -> None:
        from vllm import LLM

        self.model_id = model
        self.cfg = cfg
        kwargs = dict(
            model=model,
            tensor_parallel_size=cfg.tensor_parallel_size,
            gpu_memory_utilization=cfg.gpu_memory_utilization,
            dtype=cfg.dtype,
        )
        if cfg.max_model_len is not None:
            kwargs["max_model_len"] = cfg.max_model_len
        try:
            self.llm = LLM(**kwargs)
        except OSError as exc:
            raise HarnessError(f"cannot load model {model!r} in vLLM: {str(exc).splitlines()[0]}") from None
        self._tokenizer = self.llm.get_tokenizer()
        self.max_context = _max_model_len(self.llm, cfg.max_model_len)
        # the same end-of-turn tokens as the transformers engine (besides the model's EOS)
        vocab = self._tokenizer.get_vocab()
        self.stop_ids = sorted({vocab[t] for t in END_OF_TURN if t in vocab})

    @property
    def tokenizer(self):
        return self._tokenizer

    def close(self) -> None:
        """Shut vLLM's engine down and drop it, so its reserved GPU memory can be returned.

        vLLM keeps worker processes and a distributed group alive after the LLM object is
        unreferenced; each step is best effort because its internals move between versions.
        """
        llm, self.llm = self.llm, None
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        for step in (getattr(core, "shutdown", None), _destroy_parallel_state):
            if step is None:
                continue
            try:
                step()
            except Exception:  # noqa: BLE001  (a half-shut engine must not stop the run; memory is checked by the caller)
                pass
        del llm

    def _params(self, sampling: SamplingConfig, seed: int | None, max_tokens: int):
        from vllm import SamplingParams

        greedy = sampling.temperature <= 0
        return SamplingParams(
            n=1,
            temperature=0.0 if greedy else sampling.temperature,
            top_p=1.0 if greedy else sampling.top_p,
            top_k=-1 if greedy or not sampling.top_k else sampling.top_k,  # -1: disabled in old and new vLLM
            repetition_penalty=sampling.repetition_penalty,
            max_tokens=max_tokens,
            seed=None if greedy else seed,
            stop_token_ids=self.stop_ids,
        )

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[list[Completion]]:
        from vllm.inputs import TokensPrompt

        greedy = sampling.temperature <= 0
        prompts, params, slots = [], [], []
        token_ids = [self._tokenizer(req.prompt, add_special_tokens=False).input_ids for req in requests]
        budgets = check_context(requests, [len(ids) for ids in token_ids], sampling.max_new_tokens, self.max_context,
                                self.model_id)
        for r, (req, ids, budget) in enumerate(zip(requests, token_ids, budgets)):
            # greedy samples are identical: one request per prompt, copied to every sample
            for pos, j in enumerate(req.sample_indices[:1] if greedy else req.sample_indices):
                prompts.append(TokensPrompt(prompt_token_ids=ids))
                params.append(self._params(sampling, sample_seed(sampling.seed, req.seed_key, j), budget))
                slots.append((r, pos))
        outputs = self.llm.generate(prompts, params, use_tqdm=True)
        result: list[list[Completion | None]] = [[None] * len(req.sample_indices) for req in requests]
        for (r, pos), output in zip(slots, outputs):
            choice = output.outputs[0]
            finish = "length" if choice.finish_reason == "length" else "stop"
            completion = Completion(choice.text, len(choice.token_ids), finish, list(choice.token_ids))
            if greedy:
                result[r] = [completion] * len(requests[r].sample_indices)
            else:
                result[r][pos] = completion
        return result  # type: ignore[return-value]


def _max_model_len(llm, configured: int | None) -> int | None:
    """vLLM's own context limit (the model's, or engine.max_model_len when set): it is what vLLM enforces."""
    engine = getattr(llm, "llm_engine", None)
    for owner in (getattr(engine, "model_config", None), getattr(getattr(engine, "vllm_config", None), "model_config", None)):
        value = getattr(owner, "max_model_len", None)
        if isinstance(value, int) and value > 0:
            return value
    return configured


def _destroy_parallel_state() -> None:
    from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

    destroy_model_parallel()
    destroy_distributed_environment()

"""Runner for the official qwen-asr 0.0.6 (PyTorch, transformers backend), in .cache/bench-venvs/official.

Loads with ``Qwen3ASRModel.from_pretrained(dir, dtype=...)`` and follows its ``_infer_asr_transformers``: the
processor (features + prompt), then ``model.generate``. Stages: ``mel`` = the processor call; ``encoder`` =
``thinker.get_audio_features`` timed on its own; one ``generate(min_new_tokens=max_new_tokens=N)`` with a streamer
that timestamps each new token: prefill = time to the first token minus the encoder time (generate runs the encoder
inside), decode = first to last token. The default attention (sdpa) attends over the whole clip in the encoder.
"""

import sys
import time
from importlib.metadata import version
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Clock, Stages, main  # noqa: E402


class TokenClock:
    """A ``generate`` streamer: the first ``put`` is the prompt, each later one a new token."""

    def __init__(self):
        self.times, self.tokens, self._prompt_seen = [], [], False

    def put(self, value):
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.times.append(time.perf_counter())
        self.tokens.extend(int(t) for t in value.reshape(-1))

    def end(self):
        pass


class Implementation:
    def versions(self):
        return {"qwen-asr": version("qwen-asr"), "torch": version("torch"), "transformers": version("transformers"),
                "torch_threads": torch.get_num_threads()}

    def load(self, model_dir, dtype):
        from qwen_asr import Qwen3ASRModel

        self.asr = Qwen3ASRModel.from_pretrained(model_dir, dtype=getattr(torch, dtype), device_map="cpu")
        self.prompt = self.asr._build_text_prompt(context="", force_language=None)

    @torch.no_grad()
    def run_once(self, audio, n_tokens):
        clock, model = Clock(), self.asr.model
        with clock("mel"):
            inputs = self.asr.processor(text=[self.prompt], audio=[audio], return_tensors="pt", padding=True)
            inputs = inputs.to(model.device).to(model.dtype)
        with clock("encoder"):
            model.thinker.get_audio_features(inputs["input_features"],
                                             feature_attention_mask=inputs["feature_attention_mask"])
        streamer = TokenClock()
        start = time.perf_counter()
        model.generate(**inputs, max_new_tokens=n_tokens, min_new_tokens=n_tokens, do_sample=False,
                       streamer=streamer)
        end = time.perf_counter()
        return Stages(mel=clock.seconds["mel"], encoder=clock.seconds["encoder"],
                      prefill=streamer.times[0] - start - clock.seconds["encoder"], decode=end - streamer.times[0],
                      tokens=streamer.tokens, prompt_tokens=int(inputs["input_ids"].shape[1]))

    def memory_mb(self):
        return {}


if __name__ == "__main__":
    main(Implementation)

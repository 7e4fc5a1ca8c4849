"""Runner for mlx-asr (this repository), in the main virtualenv .venv.

Stages are the library's own pipeline (``mlx_asr.pipeline``): ``log_mel_spectrogram``, ``model.encode``, then
``model.embed`` + ``mlx_asr.generate.greedy_generate`` (mlx-lm ``generate_step``) with no stop ids and no loop
detection, so exactly N tokens are made; its prefill/decode split is the time to the first token. The prompt is
the spec's token form without a tokenizer (section 5.2).
"""

import sys
import time
from importlib.metadata import version
from pathlib import Path

import mlx.core as mx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Clock, Stages, main, prompt_ids  # noqa: E402


class Implementation:
    def versions(self):
        return {"mlx-asr": version("mlx-asr"), "mlx": version("mlx"), "mlx-lm": version("mlx-lm")}

    def load(self, model_dir, dtype):
        import mlx_asr

        self.model = mlx_asr.load(model_dir, dtype=dtype)

    def run_once(self, audio, n_tokens):
        from mlx_asr import log_mel_spectrogram
        from mlx_asr.generate import greedy_generate

        clock, model = Clock(), self.model
        with clock("mel"):
            features = log_mel_spectrogram(audio)
            mx.eval(features)
        with clock("encoder"):
            audio_embeddings = model.encode(features)
            mx.eval(audio_embeddings)
        start = time.perf_counter()
        ids = prompt_ids(audio_embeddings.shape[0])
        embeddings = model.embed(mx.array(ids, dtype=mx.int32)[None], audio_embeddings)[0]
        generation = greedy_generate(model, ids, embeddings, stop_ids=(), max_new_tokens=n_tokens,
                                     detect_loops=False)
        generated = time.perf_counter()
        mx.synchronize()  # a step queued ahead by generate_step may still run: count it in decode
        ended = time.perf_counter()
        return Stages(mel=clock.seconds["mel"], encoder=clock.seconds["encoder"],
                      prefill=generated - start - generation.decode_seconds,
                      decode=generation.decode_seconds + ended - generated,
                      tokens=generation.tokens, prompt_tokens=len(ids))

    def memory_mb(self):
        return {"mlx_peak": mx.get_peak_memory() / 2**20}


if __name__ == "__main__":
    main(Implementation)

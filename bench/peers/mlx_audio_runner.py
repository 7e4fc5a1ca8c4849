"""Runner for mlx-audio 0.6.2 (PyPI, its ``stt.models.qwen3_asr``), in .cache/bench-venvs/mlx-audio.

Stages follow the package's own ``Qwen3ASRModel.stream_generate``: ``_preprocess_audio`` (transformers'
WhisperFeatureExtractor), ``get_audio_features``, then ``_build_prompt`` + ``_build_inputs_embeds`` + its
``mlx_audio.lm.generate.generate_step`` up to the first token (prefill), and the remaining tokens (decode). The
EOS exit of ``stream_generate`` is left out so the token count is forced. The clip is fed whole.
"""

import sys
from importlib.metadata import version
from pathlib import Path

import mlx.core as mx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Clock, Stages, main  # noqa: E402


class Implementation:
    def versions(self):
        return {"mlx-audio": version("mlx-audio"), "mlx": version("mlx"), "transformers": version("transformers")}

    def load(self, model_dir, dtype):
        from mlx_audio.stt.utils import load

        if dtype != "float32":
            raise ValueError("this runner measures float32 only")
        self.model = load(model_dir)._model  # the Qwen3ASRModel behind mlx-audio's proxy ``Model``
        mx.eval(self.model.parameters())

    def run_once(self, audio, n_tokens):
        from mlx_audio.lm.generate import generate_step

        clock, model = Clock(), self.model
        with clock("mel"):
            features, mask, n_audio = model._preprocess_audio(audio)
            mx.eval(features, mask)
        with clock("encoder"):
            audio_features = model.get_audio_features(features, mask)
            mx.eval(audio_features)
        tokens = []
        with clock("prefill"):
            ids = model._build_prompt(n_audio)
            embeddings = model._build_inputs_embeds(ids, audio_features)
            steps = generate_step(prompt=ids[0], input_embeddings=embeddings[0], model=model, max_tokens=n_tokens)
            tokens.append(int(next(steps)[0]))
        with clock("decode"):
            for token, _ in steps:
                tokens.append(int(token))
                if len(tokens) == n_tokens:
                    break
            mx.synchronize()  # the step its loop queued ahead still runs: count it here, not in the next stage
        return Stages(**clock.seconds, tokens=tokens, prompt_tokens=ids.shape[1])

    def memory_mb(self):
        return {"mlx_peak": mx.get_peak_memory() / 2**20}


if __name__ == "__main__":
    main(Implementation)

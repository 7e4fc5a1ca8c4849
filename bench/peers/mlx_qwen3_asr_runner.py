"""Runner for mlx-qwen3-asr 0.4.4 (PyPI), in .cache/bench-venvs/mlx-qwen3-asr.

Stages use the package's own functions, in the order its ``transcribe`` calls them: ``compute_features`` (its
MLX mel), ``model.audio_tower``, ``model.prefill`` + greedy ``_sample``, then ``model.step`` + ``_sample`` +
``_periodic_eval`` per token (the body of its ``generate_with_info`` without the EOS / repetition exits, so the
token count is forced). The clip is fed whole (its ``transcribe`` would first split at about 30 s).
"""

import sys
from importlib.metadata import version
from pathlib import Path

import mlx.core as mx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Clock, Stages, main, prompt_ids  # noqa: E402


class Implementation:
    def versions(self):
        return {"mlx-qwen3-asr": version("mlx-qwen3-asr"), "mlx": version("mlx")}

    def load(self, model_dir, dtype):
        from mlx_qwen3_asr import load_model
        from mlx_qwen3_asr.generate import GenerationConfig

        self.dtype = getattr(mx, dtype)
        self.model, _ = load_model(model_dir, dtype=self.dtype)
        self.eval_interval = GenerationConfig().eval_interval

    def run_once(self, audio, n_tokens):
        from mlx_qwen3_asr.audio import compute_features
        from mlx_qwen3_asr.generate import _periodic_eval, _sample

        clock, model = Clock(), self.model
        with clock("mel"):
            mel, feature_lens = compute_features(audio)
            mx.eval(mel, feature_lens)
        with clock("encoder"):
            audio_features, _ = model.audio_tower(mel.astype(self.dtype), feature_lens)
            mx.eval(audio_features)
        with clock("prefill"):
            ids = mx.array([prompt_ids(audio_features.shape[1])])
            positions = mx.broadcast_to(mx.arange(ids.shape[1])[None, None, :], (1, 3, ids.shape[1]))
            cache = model.create_cache(max_seq_len=ids.shape[1] + n_tokens)
            logits = model.prefill(input_ids=ids, audio_features=audio_features, position_ids=positions, cache=cache)
            tokens = [_sample(logits, 0.0)]
        with clock("decode"):
            for step in range(1, n_tokens):
                position = mx.full((1, 3, 1), ids.shape[1] + step - 1, dtype=positions.dtype)
                logits = model.step(input_ids=mx.array([[tokens[-1]]]), position_ids=position, cache=cache,
                                    validate_input_ids=False)
                tokens.append(_sample(logits, 0.0))
                _periodic_eval(cache=cache, step=step, eval_interval=self.eval_interval)
        return Stages(**clock.seconds, tokens=tokens, prompt_tokens=ids.shape[1])

    def memory_mb(self):
        return {"mlx_peak": mx.get_peak_memory() / 2**20}


if __name__ == "__main__":
    main(Implementation)

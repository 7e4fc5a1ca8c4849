"""A tiny random-weight Qwen3-ASR built from the released config structure (no shared assets needed)."""

import copy

import mlx.core as mx
from mlx.utils import tree_flatten, tree_unflatten

from mlx_asr.config import ModelConfig
from mlx_asr.model import Qwen3ASR

AUDIO = dict(num_mel_bins=128, d_model=32, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=64,
             output_dim=48, downsample_hidden_size=8, n_window=50, n_window_infer=800, conv_chunksize=500,
             activation_function="gelu", max_source_positions=1500, scale_embedding=False,
             model_type="qwen3_asr_audio_encoder")
TEXT = dict(model_type="qwen3", vocab_size=1000, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, hidden_act="silu", rms_norm_eps=1e-6,
            rope_theta=1000000, max_position_embeddings=65536, attention_bias=False, tie_word_embeddings=True,
            rope_scaling={"interleaved": True, "mrope_interleaved": True, "mrope_section": [4, 2, 2],
                          "rope_type": "default", "type": "default"})
AUDIO_TOKEN, AUDIO_START, AUDIO_END = 900, 901, 902


def config_dict(**text_overrides) -> dict:
    """A config.json dict in the released layout (thinker_config) with tiny widths."""
    text = dict(copy.deepcopy(TEXT), **text_overrides)
    return dict(architectures=["Qwen3ASRForConditionalGeneration"], model_type="qwen3_asr",
                support_languages=["English"],
                thinker_config=dict(model_type="qwen3_asr", audio_config=dict(AUDIO), text_config=text,
                                    audio_token_id=AUDIO_TOKEN, audio_start_token_id=AUDIO_START,
                                    audio_end_token_id=AUDIO_END, dtype="float32"))


def build(seed: int = 0, **text_overrides) -> Qwen3ASR:
    """Random weights with spread-out logits (matrices ~ 1/sqrt(fan_in), norms ~ 1)."""
    mx.random.seed(seed)
    model = Qwen3ASR(ModelConfig.from_dict(config_dict(**text_overrides)))

    def draw(path, p):
        if p.ndim == 1:
            centre = 1.0 if path.endswith(("norm.weight", "ln_post.weight")) else 0.0
            return centre + 0.1 * mx.random.normal(p.shape)
        fan_in = p.size // p.shape[0]
        return mx.random.normal(p.shape) / fan_in ** 0.5

    model.update(tree_unflatten([(k, draw(k, v)) for k, v in tree_flatten(model.parameters())]))
    mx.eval(model.parameters())
    model.eval()
    return model


def prompt(audio_tokens: int, batch: int = 1) -> mx.array:
    """Token ids: a few text tokens, <|audio_start|>, N <|audio_pad|>, <|audio_end|>, a few more."""
    row = [1, 2, 3, AUDIO_START] + [AUDIO_TOKEN] * audio_tokens + [AUDIO_END, 4, 5]
    return mx.array([row] * batch)

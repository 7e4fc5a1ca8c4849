import copy
import json

import pytest

import tiny_model
from helpers import asset
from mlx_asr.config import ModelConfig


def released() -> dict:
    return json.loads(asset("qwen3-asr-0.6b", "config.json").read_text())


def hf_native(config: dict) -> dict:
    """The flattened transformers >= 5 layout of the same model (as ``save_pretrained`` writes it)."""
    thinker = config["thinker_config"]
    text = {k: v for k, v in thinker["text_config"].items() if k not in ("rope_theta", "rope_scaling")}
    text["rope_parameters"] = {"rope_theta": thinker["text_config"]["rope_theta"], "rope_type": "default"}
    audio = {k: v for k, v in thinker["audio_config"].items() if k not in ("conv_chunksize", "max_source_positions")}
    audio.update(model_type="qwen3_asr_encoder", max_position_embeddings=13)
    return dict(architectures=["Qwen3ASRForConditionalGeneration"], model_type="qwen3_asr", audio_config=audio,
                text_config=text, audio_token_id=thinker["audio_token_id"], tie_word_embeddings=True,
                timestamp_token_id=151705, transformers_version="5.23.0")


def test_released_0_6b_config_is_read_not_defaulted():
    config = ModelConfig.from_dict(released())
    a, t = config.audio, config.text
    # Spec §2.1 and §3.3; the package class defaults would be 32 layers / 20 heads / d 1280 / text 4096.
    assert (a.d_model, a.encoder_layers, a.encoder_attention_heads, a.encoder_ffn_dim) == (896, 18, 14, 3584)
    assert (a.output_dim, a.downsample_hidden_size, a.n_window, a.n_window_infer) == (1024, 480, 50, 800)
    assert (t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads) == (1024, 28, 16, 8)
    assert (t.head_dim, t.intermediate_size, t.vocab_size, t.rope_theta) == (128, 3072, 151936, 1000000)
    assert t.tie_word_embeddings is True
    assert (config.audio_token_id, config.audio_start_token_id, config.audio_end_token_id) == (151676, 151669, 151670)
    assert config.model_type == "qwen3_asr"
    assert len(config.support_languages) == 30 and "English" in config.support_languages
    assert a.chunk_frames == 100 and a.chunks_per_window == 8


def test_hf_native_flattened_config_gives_the_same_model():
    original, native = ModelConfig.from_dict(released()), ModelConfig.from_dict(hf_native(released()))
    assert native.audio.d_model == original.audio.d_model and native.audio.encoder_layers == 18
    assert native.audio.conv_chunksize == 500  # not stored by transformers; memory-only
    assert native.text.hidden_size == original.text.hidden_size and native.text.rope_theta == 1000000
    assert native.text.tie_word_embeddings is True
    assert native.audio_token_id == 151676 and native.audio_start_token_id is None


def test_unknown_keys_are_ignored():
    config = released()
    config["something_new"] = 1
    config["thinker_config"]["audio_config"]["future_option"] = [1, 2]
    config["thinker_config"]["text_config"]["another"] = {"a": 1}
    assert ModelConfig.from_dict(config) == ModelConfig.from_dict(released())


@pytest.mark.parametrize("section,key", [("audio_config", "encoder_layers"), ("audio_config", "d_model"),
                                         ("text_config", "hidden_size"), ("text_config", "num_hidden_layers")])
def test_missing_required_key_is_an_error_naming_it(section, key):
    config = copy.deepcopy(tiny_model.config_dict())
    del config["thinker_config"][section][key]
    with pytest.raises(ValueError, match=key):
        ModelConfig.from_dict(config)


def test_missing_audio_token_id_is_an_error():
    config = tiny_model.config_dict()
    del config["thinker_config"]["audio_token_id"]
    with pytest.raises(ValueError, match="audio_token_id"):
        ModelConfig.from_dict(config)


def test_forced_aligner_config_is_read():
    """Spec §6.4: the aligner has the 1.7B-width encoder, the 0.6B decoder untied, and a 5000-way time head."""
    config = ModelConfig.from_dict(json.loads(asset("qwen3-forcedaligner-0.6b", "config.json").read_text()))
    assert config.is_forced_aligner and config.head_size == 5000
    assert (config.timestamp_token_id, config.timestamp_segment_time) == (151705, 80)
    assert (config.audio.d_model, config.audio.encoder_layers, config.audio.output_dim) == (1024, 24, 1024)
    assert (config.text.vocab_size, config.text.tie_word_embeddings) == (152064, False)
    assert not ModelConfig.from_dict(released()).is_forced_aligner


def test_forced_aligner_without_its_keys_is_rejected_clearly():
    config = json.loads(asset("qwen3-forcedaligner-0.6b", "config.json").read_text())
    del config["thinker_config"]["classify_num"]
    with pytest.raises(ValueError, match="classify_num"):
        ModelConfig.from_dict(config)


def test_unsupported_activation_is_rejected():
    config = tiny_model.config_dict()
    config["thinker_config"]["audio_config"]["activation_function"] = "relu"
    with pytest.raises(ValueError, match="activation_function"):
        ModelConfig.from_dict(config)


def test_tie_word_embeddings_falls_back_to_the_outer_config():
    config = tiny_model.config_dict()
    del config["thinker_config"]["text_config"]["tie_word_embeddings"]
    with pytest.raises(ValueError, match="tie_word_embeddings"):
        ModelConfig.from_dict(config)
    config["tie_word_embeddings"] = False
    assert ModelConfig.from_dict(config).text.tie_word_embeddings is False

import json
import warnings

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten

import mlx_asr
import tiny_model
from mlx_asr.load import default_dtype


def params(model) -> dict:
    return dict(tree_flatten(model.parameters()))


def released_weights(model) -> dict:
    """Our weights written back in the released layout: thinker.* names, PyTorch conv order, stored tied lm_head."""
    out = {}
    for key, value in params(model).items():
        if key.endswith(".weight") and key.startswith("audio_tower.conv2d"):
            value = value.transpose(0, 3, 1, 2)
        out["thinker." + key] = value
    out["thinker.lm_head.weight"] = out["thinker.model.embed_tokens.weight"]
    return out


def hf_weights(model) -> dict:
    """The transformers >= 5 layout, with the audio k_proj biases dropped as its conversion does."""
    out = {}
    for key, value in params(model).items():
        if key.startswith("audio_tower.proj"):
            key = key.replace("audio_tower.proj", "model.multi_modal_projector.linear_")
        elif key.startswith("audio_tower."):
            if key.endswith("self_attn.k_proj.bias"):
                continue
            key = "model." + key
            value = value.transpose(0, 3, 1, 2) if ".conv2d" in key and key.endswith(".weight") else value
        else:
            key = key.replace("model.", "model.language_model.", 1)
        out[key] = value
    out["lm_head.weight"] = out["model.language_model.embed_tokens.weight"]
    return out


def save(folder, weights: dict, config: dict, shards: int = 1):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    keys = sorted(weights)
    for i in range(shards):
        mx.save_safetensors(str(folder / f"model-{i + 1:05d}-of-{shards:05d}.safetensors"),
                            {k: weights[k] for k in keys[i::shards]})
    return folder


@pytest.fixture(scope="module")
def model():
    return tiny_model.build()


def logits_of(model):
    mx.random.seed(0)
    audio = model.encode(mx.random.normal((128, 230)))
    return np.array(model(tiny_model.prompt(audio.shape[0]), audio))


def test_sanitize_released_layout_and_idempotent(model):
    once = model.sanitize(released_weights(model))
    ours = params(model)
    assert set(once) == set(ours)
    for key in ours:
        np.testing.assert_array_equal(np.array(once[key]), np.array(ours[key]))
    twice = model.sanitize(dict(once))
    assert set(twice) == set(once) and all(mx.array_equal(twice[k], once[k]) for k in once)


def test_sanitize_hf_layout_fills_redundant_k_bias_with_zeros(model):
    mapped = model.sanitize(hf_weights(model))
    assert set(mapped) == set(params(model))
    np.testing.assert_array_equal(np.array(mapped["audio_tower.proj1.weight"]), np.array(model.audio_tower.proj1.weight))
    assert not np.array(mapped["audio_tower.layers.0.self_attn.k_proj.bias"]).any()


def test_load_released_layout_round_trip(model, tmp_path):
    folder = save(tmp_path / "released", released_weights(model), tiny_model.config_dict(), shards=2)
    loaded = mlx_asr.load(folder, dtype="float32")
    assert loaded.path == folder and loaded.config.audio_token_id == tiny_model.AUDIO_TOKEN
    np.testing.assert_array_equal(logits_of(loaded), logits_of(model))


def test_load_hf_layout_gives_same_logits(model, tmp_path):
    """Without the k_proj bias the audio embeddings agree to rounding (softmax cancels it), not bit for bit."""
    config = tiny_model.config_dict()
    flat = dict(config["thinker_config"], model_type="qwen3_asr", tie_word_embeddings=True)
    del flat["audio_start_token_id"], flat["audio_end_token_id"]
    folder = save(tmp_path / "hf", hf_weights(model), flat)
    np.testing.assert_allclose(logits_of(mlx_asr.load(folder, dtype="float32")), logits_of(model), rtol=1e-4,
                               atol=1e-4)


def test_missing_unexpected_and_misshaped_keys_are_named(model, tmp_path):
    weights = released_weights(model)
    del weights["thinker.audio_tower.layers.1.fc2.bias"]
    weights["thinker.audio_tower.extra.weight"] = mx.zeros((2,))
    weights["thinker.model.norm.weight"] = mx.zeros((7,))
    with pytest.raises(ValueError) as error:
        mlx_asr.load(save(tmp_path / "bad", weights, tiny_model.config_dict()))
    message = str(error.value)
    assert "audio_tower.layers.1.fc2.bias" in message and "missing" in message
    assert "audio_tower.extra.weight" in message and "unexpected" in message
    assert "model.norm.weight" in message and "(7,)" in message


def test_tied_lm_head_that_differs_warns(model, tmp_path):
    weights = released_weights(model)
    weights["thinker.lm_head.weight"] = weights["thinker.lm_head.weight"] + 1.0
    with pytest.warns(UserWarning, match="lm_head differs"):
        loaded = mlx_asr.load(save(tmp_path / "tied", weights, tiny_model.config_dict()))
    np.testing.assert_array_equal(logits_of(loaded), logits_of(model))  # embed_tokens is still the head
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mlx_asr.load(save(tmp_path / "ok", released_weights(model), tiny_model.config_dict()))


def test_untied_checkpoint_needs_its_lm_head(tmp_path):
    untied = tiny_model.build(tie_word_embeddings=False)
    weights = released_weights(untied)
    weights["thinker.lm_head.weight"] = untied.lm_head.weight
    config = tiny_model.config_dict(tie_word_embeddings=False)
    loaded = mlx_asr.load(save(tmp_path / "untied", weights, config))
    np.testing.assert_array_equal(logits_of(loaded), logits_of(untied))
    del weights["thinker.lm_head.weight"]
    with pytest.raises(ValueError, match="lm_head.weight"):
        mlx_asr.load(save(tmp_path / "headless", weights, config))


def test_dtype_and_lazy(model, tmp_path):
    folder = save(tmp_path / "m", released_weights(model), tiny_model.config_dict())
    assert default_dtype() == (mx.float32 if mx.default_device() == mx.cpu else mx.bfloat16)
    assert mlx_asr.load(folder).model.embed_tokens.weight.dtype == default_dtype()
    half = mlx_asr.load(folder, dtype="bfloat16", lazy=True)
    assert half.audio_tower.conv2d1.weight.dtype == mx.bfloat16
    with pytest.raises(ValueError, match="dtype"):
        mlx_asr.load(folder, dtype="int8")


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a model folder"):
        mlx_asr.load(tmp_path / "nothing" / "here")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        mlx_asr.load(tmp_path / "empty")
    (tmp_path / "empty" / "config.json").write_text(json.dumps(tiny_model.config_dict()))
    with pytest.raises(FileNotFoundError, match="safetensors"):
        mlx_asr.load(tmp_path / "empty")


def test_mlx_asr_load_stays_the_function_after_importing_the_submodule():
    import importlib

    importlib.import_module("mlx_asr.load")
    importlib.import_module("mlx_asr.pipeline")
    assert callable(mlx_asr.load) and mlx_asr.load.__module__ == "mlx_asr.load"

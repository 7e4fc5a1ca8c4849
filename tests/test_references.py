"""Sanity facts of the golden references themselves (built by tests/reference/*/build_models.py).

If these fail, every parity test that reads the references is suspect. numpy + stdlib only; reads safetensors
headers, never the multi-GB tensors.
"""

import json
import struct

import numpy as np
import pytest

from helpers import asset, reference

OFFICIAL = ["tiny", "0.6b", "1.7b"]
HF_NATIVE = ["hf-tiny", "hf-0.6b"]
AUDIO_PAD = 151676
EOS = [151643, 151645]  # suppressed by min_new_tokens during the forced greedy continuation
WINDOW_SECONDS = 8.0


def header(path) -> dict:
    """Tensor name -> shape from a safetensors file's JSON header."""
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(size))
    return {k: v["shape"] for k, v in meta.items() if k != "__metadata__"}


def manifest(variant: str) -> dict:
    return json.loads(reference("models", variant, "manifest.json").read_text())


def released_key_table(config: dict) -> dict:
    """Spec §4.2: key -> shape of the released (thinker.*) checkpoint for a config.json."""
    a, x = config["thinker_config"]["audio_config"], config["thinker_config"]["text_config"]
    d, ffn, c = a["d_model"], a["encoder_ffn_dim"], a["downsample_hidden_size"]
    h, hd, vocab = x["hidden_size"], x["head_dim"], x["vocab_size"]
    q, kv, inter = x["num_attention_heads"] * hd, x["num_key_value_heads"] * hd, x["intermediate_size"]
    at, tm = "thinker.audio_tower.", "thinker.model."
    table = {f"{at}conv2d1.weight": [c, 1, 3, 3], f"{at}conv_out.weight": [d, c * 16], f"{at}proj1.weight": [d, d],
             f"{at}proj2.weight": [a["output_dim"], d], f"{at}proj2.bias": [a["output_dim"]],
             f"{tm}embed_tokens.weight": [vocab, h], f"{tm}norm.weight": [h], "thinker.lm_head.weight": [vocab, h]}
    table.update({f"{at}conv2d{i}.weight": [c, c, 3, 3] for i in (2, 3)})
    table.update({f"{at}conv2d{i}.bias": [c] for i in (1, 2, 3)})
    table.update({f"{at}{n}": [d] for n in ("ln_post.weight", "ln_post.bias", "proj1.bias")})
    for i in range(a["encoder_layers"]):
        p = f"{at}layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            table[f"{p}self_attn.{proj}.weight"], table[f"{p}self_attn.{proj}.bias"] = [d, d], [d]
        for norm in ("self_attn_layer_norm", "final_layer_norm"):
            table[f"{p}{norm}.weight"] = table[f"{p}{norm}.bias"] = [d]
        table.update({f"{p}fc1.weight": [ffn, d], f"{p}fc1.bias": [ffn], f"{p}fc2.weight": [d, ffn], f"{p}fc2.bias": [d]})
    for i in range(x["num_hidden_layers"]):
        p = f"{tm}layers.{i}."
        table.update({f"{p}input_layernorm.weight": [h], f"{p}post_attention_layernorm.weight": [h],
                      f"{p}self_attn.q_proj.weight": [q, h], f"{p}self_attn.k_proj.weight": [kv, h],
                      f"{p}self_attn.v_proj.weight": [kv, h], f"{p}self_attn.o_proj.weight": [h, q],
                      f"{p}self_attn.q_norm.weight": [hd], f"{p}self_attn.k_norm.weight": [hd],
                      f"{p}mlp.gate_proj.weight": [inter, h], f"{p}mlp.up_proj.weight": [inter, h],
                      f"{p}mlp.down_proj.weight": [h, inter]})
    return table


def checkpoint_header(variant: str) -> dict:
    folder = reference("models", variant, "model")
    index = folder / "model.safetensors.index.json"
    if not index.exists():
        return header(folder / "model.safetensors")
    weight_map = json.loads(index.read_text())["weight_map"]
    merged = {}
    for shard in sorted(set(weight_map.values())):
        part = header(folder / shard)
        assert all(weight_map[k] == shard for k in part), f"{shard}: index.json disagrees with the shard"
        merged.update(part)
    assert set(merged) == set(weight_map)
    return merged


@pytest.mark.parametrize("variant", OFFICIAL)
def test_official_checkpoint_keys_and_shapes_follow_the_spec_table(variant):
    config = json.loads(reference("models", variant, "model", "config.json").read_text())
    assert checkpoint_header(variant) == released_key_table(config)


def test_06b_checkpoint_is_the_released_model():
    config = json.loads(reference("models", "0.6b", "model", "config.json").read_text())
    assert config == json.loads(asset("qwen3-asr-0.6b", "config.json").read_text())
    saved = checkpoint_header("0.6b")
    assert len(saved) == 612 and saved["thinker.lm_head.weight"] == [151936, 1024]


def test_17b_checkpoint_is_sharded_with_the_released_structure():
    folder = reference("models", "1.7b", "model")
    config = json.loads((folder / "config.json").read_text())
    shards = sorted(p.name for p in folder.glob("model-*-of-*.safetensors"))
    assert len(shards) >= 2 and not (folder / "model.safetensors").exists()
    assert len(checkpoint_header("1.7b")) == len(released_key_table(config))
    a, x = config["thinker_config"]["audio_config"], config["thinker_config"]["text_config"]
    assert (a["d_model"], a["encoder_attention_heads"], a["encoder_ffn_dim"], a["output_dim"]) == (1024, 16, 4096, 2048)
    assert (x["hidden_size"], x["intermediate_size"], x["num_attention_heads"], x["num_key_value_heads"]) == \
        (2048, 6144, 16, 8)
    full_depth = dict(config, thinker_config=dict(config["thinker_config"],
                                                  audio_config=dict(a, encoder_layers=24),
                                                  text_config=dict(x, num_hidden_layers=28)))
    assert len(released_key_table(full_depth)) == 708


@pytest.mark.parametrize("variant", OFFICIAL + HF_NATIVE)
def test_token_count_formula_matches_every_case(variant):
    for name, entry in manifest(variant)["cases"].items():
        frames = entry["samples"] // 160
        tokens = 13 * (frames // 100) + -(-(frames % 100) // 8)
        assert entry["frames"] == frames and entry["audio_tokens"] == tokens, name
        case = np.load(reference("models", variant, "cases", f"{name}.npz"))
        assert case["wav"].shape == (entry["samples"],)
        assert case["input_features"].shape == (128, frames)
        assert int((case["input_ids"] == AUDIO_PAD).sum()) == tokens
        assert case["audio.proj2"].shape[0] == tokens


@pytest.mark.parametrize("variant", OFFICIAL + HF_NATIVE)
def test_greedy_tokens_vary(variant):
    for name, entry in manifest(variant)["cases"].items():
        case = np.load(reference("models", variant, "cases", f"{name}.npz"))
        generated = case["generated"]
        assert generated.shape == (32,) and case["logits_teacher"].shape[1] == 32
        logits = case["logits_teacher"][0].copy()
        logits[:, EOS] = -np.inf
        assert (logits.argmax(-1) == generated)[case["top2_margin"] > 1e-3].all(), name
        if entry["seconds"] <= WINDOW_SECONDS:
            assert len(set(generated.tolist())) >= 8, f"{name}: greedy decoding is degenerate"


@pytest.mark.parametrize("variant", OFFICIAL)
def test_windowed_encoder_differs_from_global_only_beyond_8s(variant):
    for name, entry in manifest(variant)["cases"].items():
        stock = reference("models", variant).joinpath("global", f"{name}.npz")
        if entry["seconds"] <= WINDOW_SECONDS:
            assert not stock.exists(), name
            continue
        windowed = np.load(reference("models", variant, "cases", f"{name}.npz"))
        globally = np.load(reference("models", variant, "global", f"{name}.npz"))
        assert np.array_equal(windowed["input_features"], globally["input_features"])
        np.testing.assert_array_equal(globally["audio.conv_out"], windowed["audio.conv_out"])
        assert globally["audio.proj2"].shape == windowed["audio.proj2"].shape
        first = windowed["audio.layers.0"][:104]
        assert np.abs(globally["audio.layers.0"][:104] - first).max() > 1e-4, f"{name}: window 1 saw window 2"
        assert np.abs(globally["audio.proj2"] - windowed["audio.proj2"]).max() > 1e-3, name


@pytest.mark.parametrize("variant", HF_NATIVE)
def test_hf_native_checkpoint_layout(variant):
    folder = reference("models", variant, "model")
    config = json.loads((folder / "config.json").read_text())
    assert "thinker_config" not in config and {"audio_config", "text_config"} <= set(config)
    keys = header(folder / "model.safetensors")
    prefixes = ("model.audio_tower.", "model.language_model.", "model.multi_modal_projector.")
    assert all(k.startswith(prefixes) for k in keys)
    assert "model.multi_modal_projector.linear_2.weight" in keys and "lm_head.weight" not in keys


def test_hf_06b_has_the_06b_widths():
    config = json.loads(reference("models", "hf-0.6b", "model", "config.json").read_text())
    released = json.loads(asset("qwen3-asr-0.6b", "config.json").read_text())["thinker_config"]
    for ours, theirs in ((config["audio_config"], released["audio_config"]), (config["text_config"], released["text_config"])):
        widths = [k for k in ("d_model", "encoder_attention_heads", "encoder_ffn_dim", "output_dim", "hidden_size",
                              "intermediate_size", "num_attention_heads", "num_key_value_heads", "head_dim",
                              "vocab_size") if k in theirs]
        assert {k: ours[k] for k in widths} == {k: theirs[k] for k in widths}


def test_hf_native_encoder_is_windowed_like_the_official_one():
    """hf-tiny holds the official tiny weights: its eager encoder must match the windowed goldens, not the global."""
    for name, entry in manifest("hf-tiny")["cases"].items():
        hf = np.load(reference("models", "hf-tiny", "cases", f"{name}.npz"))["audio.proj2"]
        official = np.load(reference("models", "tiny", "cases", f"{name}.npz"))["audio.proj2"]
        if entry["frames"] >= 100:
            np.testing.assert_allclose(hf, official, atol=1e-4, err_msg=name)
        if entry["seconds"] > WINDOW_SECONDS:
            stock = np.load(reference("models", "tiny", "global", f"{name}.npz"))["audio.proj2"]
            assert np.abs(hf - stock).max() > 1e-3, name

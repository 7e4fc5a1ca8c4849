"""The official model (qwen_asr 0.0.6, transformers 4.57.6) for the reference builder: configs, construction,
the 8 s encoder-window patch (spec §10), the released key table (spec §4.2) and checkpoint saving.

Imported only by tests/reference/official/build_models.py (in .venv-ref).
"""

import contextlib
import copy
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers.modeling_utils import no_init_weights

from qwen_asr.core.transformers_backend import modeling_qwen3_asr as M
from qwen_asr.core.transformers_backend.configuration_qwen3_asr import Qwen3ASRConfig

# Widths per variant (None = the released 0.6B config.json, unchanged).
DIMS = {
    "tiny": dict(audio=dict(d_model=64, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=128,
                            output_dim=64, downsample_hidden_size=8),
                 text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, head_dim=16, mrope_section=[4, 2, 2])),
    "0.6b": None,
    "1.7b": dict(audio=dict(d_model=1024, encoder_layers=4, encoder_attention_heads=16, encoder_ffn_dim=4096,
                            output_dim=2048, downsample_hidden_size=480),
                 text=dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=4, num_attention_heads=16,
                           num_key_value_heads=8, head_dim=128, mrope_section=[24, 20, 20])),
}
SHARDS = {"tiny": 1, "0.6b": 1, "1.7b": 2}


def config_dict(variant: str, released: dict) -> dict:
    """config.json of a variant: the released 0.6B file, or the same structure with the variant's widths."""
    cfg = copy.deepcopy(released)
    dims = DIMS[variant]
    if dims is None:
        return cfg
    audio, text = cfg["thinker_config"]["audio_config"], cfg["thinker_config"]["text_config"]
    audio.update(dims["audio"])
    audio["num_hidden_layers"] = dims["audio"]["encoder_layers"]
    text.update({k: v for k, v in dims["text"].items() if k != "mrope_section"})
    text["rope_scaling"]["mrope_section"] = dims["text"]["mrope_section"]
    return cfg


def build(cfg_dict: dict) -> torch.nn.Module:
    """The official Qwen3ASRForConditionalGeneration in fp32 eager mode, uninitialised (call randomize_ next)."""
    cfg = Qwen3ASRConfig(**json.loads(json.dumps(cfg_dict)))
    for c in (cfg, cfg.thinker_config, cfg.thinker_config.audio_config, cfg.thinker_config.text_config):
        c._attn_implementation = "eager"
    with no_init_weights():
        model = M.Qwen3ASRForConditionalGeneration(cfg)
    model.tie_weights()  # no_init_weights skips the tying post_init does; from_pretrained ties after loading too
    model = model.float().eval()
    thinker = model.thinker
    if thinker.audio_tower.config._attn_implementation != "eager" or thinker.model.config._attn_implementation != "eager":
        raise AssertionError("_attn_implementation did not reach the sub-configs")
    if thinker.config.model_type != cfg_dict["thinker_config"]["model_type"]:
        raise AssertionError(f"thinker model_type {thinker.config.model_type!r} not passed through")
    tied = thinker.lm_head.weight.data_ptr() == thinker.model.embed_tokens.weight.data_ptr()
    if tied != is_tied(cfg_dict):
        raise AssertionError(f"lm_head tied to embed_tokens: {tied}, config says {is_tied(cfg_dict)}")
    return model


def is_tied(cfg_dict: dict) -> bool:
    """Whether the output head is the embedding (ASR models) or its own matrix (the forced aligner)."""
    return bool(cfg_dict["thinker_config"]["text_config"].get("tie_word_embeddings", True))


def head_rows(cfg_dict: dict) -> int:
    """Output head rows: the vocabulary, or the forced aligner's ``classify_num`` time classes (spec §6.4)."""
    thinker = cfg_dict["thinker_config"]
    if "forced_aligner" in thinker["model_type"]:
        return thinker["classify_num"]
    return thinker["text_config"]["vocab_size"]


_stock_attention_forward = M.Qwen3ASRAudioAttention.forward


def _windowed_attention_forward(self, hidden_states, cu_seqlens=None, attention_mask=None, **kwargs):
    if attention_mask is None and cu_seqlens is not None:
        size = hidden_states.shape[0]
        mask = torch.full((1, 1, size, size), torch.finfo(hidden_states.dtype).min, dtype=hidden_states.dtype)
        bounds = cu_seqlens.tolist()
        for start, end in zip(bounds[:-1], bounds[1:]):
            mask[..., start:end, start:end] = 0
        attention_mask = mask
    return _stock_attention_forward(self, hidden_states, cu_seqlens=cu_seqlens, attention_mask=attention_mask,
                                    **kwargs)


@contextlib.contextmanager
def encoder_attention(windowed: bool):
    """Windowed: block-diagonal 104-token attention from cu_seqlens (what FA2/vLLM do). Else stock eager (global)."""
    M.Qwen3ASRAudioAttention.forward = _windowed_attention_forward if windowed else _stock_attention_forward
    try:
        yield
    finally:
        M.Qwen3ASRAudioAttention.forward = _stock_attention_forward


def expected_keys(cfg_dict: dict) -> dict:
    """Released key -> shape table of spec §4.2, derived from config.json alone (not from the model)."""
    t = cfg_dict["thinker_config"]
    a, x = t["audio_config"], t["text_config"]
    d, ffn, out, c = a["d_model"], a["encoder_ffn_dim"], a["output_dim"], a["downsample_hidden_size"]
    freq = (((a["num_mel_bins"] + 1) // 2 + 1) // 2 + 1) // 2
    keys = {}
    pre = "thinker.audio_tower."
    keys[pre + "conv2d1.weight"], keys[pre + "conv2d1.bias"] = [c, 1, 3, 3], [c]
    for i in (2, 3):
        keys[pre + f"conv2d{i}.weight"], keys[pre + f"conv2d{i}.bias"] = [c, c, 3, 3], [c]
    keys[pre + "conv_out.weight"] = [d, c * freq]
    for i in range(a["encoder_layers"]):
        lp = f"{pre}layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            keys[f"{lp}self_attn.{proj}.weight"], keys[f"{lp}self_attn.{proj}.bias"] = [d, d], [d]
        for norm in ("self_attn_layer_norm", "final_layer_norm"):
            keys[f"{lp}{norm}.weight"], keys[f"{lp}{norm}.bias"] = [d], [d]
        keys[lp + "fc1.weight"], keys[lp + "fc1.bias"] = [ffn, d], [ffn]
        keys[lp + "fc2.weight"], keys[lp + "fc2.bias"] = [d, ffn], [d]
    keys[pre + "ln_post.weight"], keys[pre + "ln_post.bias"] = [d], [d]
    keys[pre + "proj1.weight"], keys[pre + "proj1.bias"] = [d, d], [d]
    keys[pre + "proj2.weight"], keys[pre + "proj2.bias"] = [out, d], [out]
    h, inter, hd = x["hidden_size"], x["intermediate_size"], x["head_dim"]
    q, kv, vocab = x["num_attention_heads"] * hd, x["num_key_value_heads"] * hd, x["vocab_size"]
    pre = "thinker.model."
    keys[pre + "embed_tokens.weight"] = [vocab, h]
    for i in range(x["num_hidden_layers"]):
        lp = f"{pre}layers.{i}."
        keys[lp + "input_layernorm.weight"] = keys[lp + "post_attention_layernorm.weight"] = [h]
        keys[lp + "self_attn.q_proj.weight"] = [q, h]
        keys[lp + "self_attn.k_proj.weight"] = keys[lp + "self_attn.v_proj.weight"] = [kv, h]
        keys[lp + "self_attn.o_proj.weight"] = [h, q]
        keys[lp + "self_attn.q_norm.weight"] = keys[lp + "self_attn.k_norm.weight"] = [hd]
        keys[lp + "mlp.gate_proj.weight"] = keys[lp + "mlp.up_proj.weight"] = [inter, h]
        keys[lp + "mlp.down_proj.weight"] = [h, inter]
    keys[pre + "norm.weight"] = [h]
    keys["thinker.lm_head.weight"] = [head_rows(cfg_dict), h]
    return keys


def expected_key_count(encoder_layers: int, decoder_layers: int) -> int:
    """7 conv tensors + 16 per encoder layer + 6 head + embed + 11 per decoder layer + norm + lm_head."""
    return 7 + 16 * encoder_layers + 6 + 1 + 11 * decoder_layers + 1 + 1


def save_checkpoint(model: torch.nn.Module, cfg_dict: dict, folder: Path, shards: int) -> dict:
    """Save the state dict in the released layout (tied lm_head stored too), after checking it against §4.2."""
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    tied = is_tied(cfg_dict)
    if tied:
        state["thinker.lm_head.weight"] = state["thinker.lm_head.weight"].clone()  # safetensors refuses shared memory
    got = {k: list(v.shape) for k, v in state.items()}
    want = expected_keys(cfg_dict)
    if got != want:
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        wrong = sorted(k for k in set(got) & set(want) if got[k] != want[k])
        raise AssertionError(f"saved keys differ from spec §4.2: missing {missing[:5]}, extra {extra[:5]}, "
                             f"wrong shapes {wrong[:5]}")
    a, x = cfg_dict["thinker_config"]["audio_config"], cfg_dict["thinker_config"]["text_config"]
    if len(state) != expected_key_count(a["encoder_layers"], x["num_hidden_layers"]):
        raise AssertionError(f"{len(state)} tensors, expected {expected_key_count(a['encoder_layers'], x['num_hidden_layers'])}")
    if tied and not torch.equal(state["thinker.lm_head.weight"], state["thinker.model.embed_tokens.weight"]):
        raise AssertionError("stored lm_head differs from embed_tokens")
    folder.mkdir(parents=True, exist_ok=True)
    if shards == 1:
        save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
        return got
    names = list(state)
    sizes = [state[k].numel() * state[k].element_size() for k in names]
    total, weight_map, start = sum(sizes), {}, 0
    for shard in range(shards):
        budget, end, used = total / shards, start, 0
        while end < len(names) and (used < budget or shard == shards - 1):
            used += sizes[end]
            end += 1
        file = f"model-{shard + 1:05d}-of-{shards:05d}.safetensors"
        save_file({k: state[k] for k in names[start:end]}, folder / file, metadata={"format": "pt"})
        weight_map.update({k: file for k in names[start:end]})
        start = end
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    return got

"""Golden references from transformers' own Qwen3ASRForConditionalGeneration (transformers 5.x, run in .venv).

Variants under <out>/models/:
- hf-tiny: the official `tiny` checkpoint's weights converted to the HF-native keys, so its goldens can be checked
  against the official ones (this is how the builder verifies that HF-native eager attention is windowed at 8 s);
- hf-0.6b: 0.6B widths, 4 encoder + 4 decoder layers, random weights.
Both are saved with `save_pretrained` and fed the official processor's features, read from the official `tiny`
cases (so models are compared, not feature extractors). Needs the official builder's output (scripts/test.sh runs
it first). Layout and keys: tests/reference/README.md.

    HF_HUB_OFFLINE=1 .venv/bin/python tests/reference/hf_native/build_models.py --out .cache/references [--force]
"""

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402
from torch_goldens import ModelRunner, check_tokens_vary, golden_case, randomize_, save_npz  # noqa: E402

PROMPT_TAIL, AUDIO_PAD, SEED = 8, 151676, 4321
COMPANION_FILES = ["vocab.json", "merges.txt", "tokenizer_config.json", "chat_template.json",
                   "preprocessor_config.json"]
OFFICIAL_TINY = "tiny"  # its weights become hf-tiny; its cases give every variant the official features
CASES = {"hf-tiny": None, "hf-0.6b": ["real-0.50s", "real-8.00s", "real-11.37s", "real-35.05s"]}  # None: all
HF_06B_DEPTH = 4
# hf-0.6b init: the official builder's recipe (tests/reference/README.md), with the projector under its HF name.
INIT = {"embed_std": 0.1, "gain": 2.0, "scale": {"multi_modal_projector.linear_2.weight": 0.1,
                                                  "self_attn.q_norm.weight": 3.0, "self_attn.k_norm.weight": 3.0}}
RELEASED_06B = common.ASSETS / "qwen3-asr-0.6b" / "config.json"
CASE_FIELDS = ("seconds", "samples", "frames", "audio_tokens", "source")
HF_PREFIXES = ("model.audio_tower.", "model.language_model.", "model.multi_modal_projector.")


def hf_config_dict(official: dict, depth: int | None) -> dict:
    """The HF-native (flattened) config with the official config's widths; ``depth`` overrides both layer counts."""
    t = official["thinker_config"]
    a, x = t["audio_config"], t["text_config"]
    audio = {k: a[k] for k in ("num_mel_bins", "encoder_layers", "encoder_attention_heads", "encoder_ffn_dim",
                               "d_model", "activation_function", "scale_embedding", "n_window", "output_dim",
                               "n_window_infer", "downsample_hidden_size")}
    text = {k: x[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                              "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act", "rms_norm_eps",
                              "max_position_embeddings", "tie_word_embeddings", "attention_bias")}
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": float(x["rope_theta"])}
    if depth is not None:
        audio["encoder_layers"] = text["num_hidden_layers"] = depth
    return dict(audio_config={"model_type": "qwen3_asr_encoder", **audio}, text_config={"model_type": "qwen3", **text},
                audio_token_id=t["audio_token_id"], tie_word_embeddings=x["tie_word_embeddings"])


def official_to_hf(key: str) -> str:
    for old, new in (("thinker.audio_tower.proj1.", "model.multi_modal_projector.linear_1."),
                     ("thinker.audio_tower.proj2.", "model.multi_modal_projector.linear_2."),
                     ("thinker.audio_tower.", "model.audio_tower."), ("thinker.model.", "model.language_model."),
                     ("thinker.lm_head.", "lm_head.")):
        if key.startswith(old):
            return new + key[len(old):]
    raise KeyError(f"unexpected official key {key}")


def build_model(variant: str, source_dir: Path):
    from safetensors.numpy import load_file
    from transformers import Qwen3ASRConfig, Qwen3ASRForConditionalGeneration

    if variant == "hf-tiny":
        cfg_dict = hf_config_dict(json.loads((source_dir / "model" / "config.json").read_text()), None)
    else:
        cfg_dict = hf_config_dict(json.loads(RELEASED_06B.read_text()), HF_06B_DEPTH)
        widths = (cfg_dict["audio_config"]["d_model"], cfg_dict["text_config"]["hidden_size"])
        if widths != (896, 1024):
            raise AssertionError(f"hf-0.6b widths {widths} are not the 0.6B ones")
    torch.manual_seed(SEED)
    model = Qwen3ASRForConditionalGeneration(Qwen3ASRConfig(**cfg_dict)).float().eval()
    model.set_attn_implementation("eager")
    tower, lm = model.model.audio_tower, model.model.language_model
    if tower.config._attn_implementation != "eager" or lm.config._attn_implementation != "eager":
        raise AssertionError("eager attention did not reach the sub-models")
    if model.lm_head.weight.data_ptr() != lm.embed_tokens.weight.data_ptr():
        raise AssertionError("lm_head is not tied to embed_tokens")
    if variant == "hf-tiny":
        weights = load_file(source_dir / "model" / "model.safetensors")
        state = {official_to_hf(k): torch.from_numpy(v) for k, v in weights.items()}
        result = model.load_state_dict(state, strict=True)
        if result.missing_keys or result.unexpected_keys:
            raise AssertionError(f"conversion mismatch: {result}")
    else:
        randomize_(model, SEED, **INIT)
    return model, cfg_dict


def hooks_of(model, conv: bool) -> dict:
    tower, projector = model.model.audio_tower, model.model.multi_modal_projector
    hooks = {f"audio.{n}": getattr(tower, n) for n in (["conv2d1", "conv2d2", "conv2d3"] if conv else [])}
    hooks["audio.conv_out"] = tower.conv_out
    hooks.update({f"audio.layers.{i}": layer for i, layer in enumerate(tower.layers)})
    hooks.update({"audio.ln_post": tower.ln_post, "audio.proj1": projector.linear_1, "audio.proj2": projector.linear_2})
    return hooks


def padded_features(features: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(128, T) official features -> zero-padded to a multiple of 100 frames (what the HF encoder requires) + mask."""
    frames = features.shape[1]
    padded = -(-frames // 100) * 100
    feats = torch.zeros(1, features.shape[0], padded)
    feats[0, :, :frames] = torch.from_numpy(features)
    mask = torch.zeros(1, padded, dtype=torch.long)
    mask[0, :frames] = 1
    return feats, mask


def native_feature_diffs(wav: np.ndarray, official: np.ndarray) -> dict:
    """Max |HF-native Qwen3ASRFeatureExtractor - official| over the valid frames, padding longest and by default
    (max_length = 30 s: the last valid frame then sees zero padding instead of reflect padding)."""
    from transformers import Qwen3ASRFeatureExtractor

    extractor, frames, facts = Qwen3ASRFeatureExtractor(), official.shape[1], {}
    for padding in ("longest", "max_length"):
        out = extractor(wav, sampling_rate=16000, padding=padding, return_attention_mask=True, return_tensors="np")
        valid = int(out["attention_mask"][0].sum())
        native = out["input_features"][0][:, :frames]
        facts[f"native_features_{padding}"] = {"valid_frames": valid,
                                               "max_abs_diff": float(np.abs(native - official).max())}
    return facts


def runner_of(model, conv: bool) -> ModelRunner:
    def forward(ids, feats, mask):
        res = model(input_ids=ids, attention_mask=torch.ones_like(ids), input_features=feats,
                    input_features_mask=mask, output_hidden_states=True, use_cache=False)
        return res.logits, res.hidden_states

    def generate(ids, feats, mask, n):
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), input_features=feats,
                             input_features_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False)
        return (out if isinstance(out, torch.Tensor) else out.sequences)[0, ids.shape[1]:]

    return ModelRunner(forward=forward, generate=generate, hooks=hooks_of(model, conv))


def check_case(name: str, case: dict, model, n_audio: int) -> None:
    """Fail loudly: token count, merge, last hidden state = final norm output, greedy tokens vary (<= 8 s)."""
    if case["audio.proj2"].shape[0] != n_audio or int((case["input_ids"] == AUDIO_PAD).sum()) != n_audio:
        raise AssertionError(f"{name}: {case['audio.proj2'].shape[0]} audio embeddings, expected {n_audio}")
    audio = case["input_ids"][0] == AUDIO_PAD
    if not np.array_equal(case["text.h0"][0][audio], case["audio.proj2"]):
        raise AssertionError(f"{name}: text.h0 at <|audio_pad|> is not the projector output")
    last = max(int(k[6:]) for k in case if k.startswith("text.h"))
    if last != model.config.text_config.num_hidden_layers:
        raise AssertionError(f"{name}: {last + 1} hidden states")
    embed = model.model.language_model.embed_tokens.weight.detach().numpy()
    if not np.allclose(case[f"text.h{last}"][0, -PROMPT_TAIL:] @ embed.T, case["logits_prompt_tail"][0], atol=1e-3):
        raise AssertionError(f"{name}: the last hidden state is not the final-norm output")
    if case["wav"].shape[0] <= 8 * 16000:
        check_tokens_vary(case, name)


def check_saved(folder: Path, model) -> dict:
    """save_pretrained output: HF-native key prefixes, flattened config; returns facts for the manifest."""
    from safetensors import safe_open

    with safe_open(folder / "model.safetensors", "np") as f:
        keys = list(f.keys())
    state = model.state_dict()
    bad = [k for k in keys if not k.startswith(HF_PREFIXES)]
    if bad or set(keys) != set(state) - {"lm_head.weight"}:
        raise AssertionError(f"saved keys are not the HF-native layout: {bad[:5]}")
    config = json.loads((folder / "config.json").read_text())
    if "thinker_config" in config or not {"audio_config", "text_config"} <= set(config):
        raise AssertionError(f"config.json is not flattened: {sorted(config)}")
    return {"tensors": len(keys), "lm_head_saved": "lm_head.weight" in keys, "config_keys": sorted(config)}


def compare_with_official(case: str, hf: dict, source_dir: Path) -> dict:
    """hf-tiny only: HF-native encoder output vs the official windowed (cases/) and global (global/) goldens."""
    windowed = np.load(source_dir / "cases" / f"{case}.npz")["audio.proj2"]
    facts = {"max_abs_diff_vs_official_windowed": float(np.abs(hf["audio.proj2"] - windowed).max())}
    stock = source_dir / "global" / f"{case}.npz"
    if stock.exists():
        facts["max_abs_diff_vs_official_global"] = float(np.abs(hf["audio.proj2"] - np.load(stock)["audio.proj2"]).max())
        if not facts["max_abs_diff_vs_official_global"] > 1e-3:
            raise AssertionError(f"hf-tiny/{case}: HF-native eager attention is global, not windowed")
    frames = hf["input_features"].shape[1]
    if frames >= 100 and facts["max_abs_diff_vs_official_windowed"] > 1e-4:
        raise AssertionError(f"hf-tiny/{case}: HF-native differs from the official windowed encoder: {facts}")
    return facts


def sdpa_is_windowed_too(model, cases: dict, source_dir: Path) -> dict:
    """hf-tiny: the sdpa path (transformers' default) must also match the official windowed encoder beyond 8 s."""
    model.set_attn_implementation("sdpa")
    diffs = {}
    try:
        for case, golden in cases.items():
            feats, mask = padded_features(golden["input_features"])
            with torch.no_grad():
                audio = model.model.get_audio_features(feats, mask).pooler_output.numpy()
            diffs[case] = float(np.abs(audio - np.load(source_dir / "cases" / f"{case}.npz")["audio.proj2"]).max())
            if diffs[case] > 1e-4:
                raise AssertionError(f"hf-tiny/{case}: sdpa encoder is not windowed like the official one ({diffs[case]})")
    finally:
        model.set_attn_implementation("eager")
    return diffs


def build_variant(variant: str, out: Path) -> None:
    import transformers

    source_dir = out / "models" / OFFICIAL_TINY
    if not (source_dir / "STAMP").exists():
        raise SystemExit(f"{source_dir} is missing: run tests/reference/official/build_models.py first")
    official_cases = json.loads((source_dir / "manifest.json").read_text())["cases"]
    cases = CASES[variant] or list(official_cases)
    stamp = common.fingerprint(HERE / "build_models.py", HERE.parent / "common.py", HERE.parent / "torch_goldens.py",
                               RELEASED_06B, (source_dir / "STAMP").read_text(),
                               cases, torch.__version__, transformers.__version__)
    tmp = common.begin_build(out, variant, stamp)
    if tmp is None:
        return
    started = time.time()
    model, cfg_dict = build_model(variant, source_dir)
    model.save_pretrained(tmp / "model")
    for name in COMPANION_FILES:
        shutil.copy(source_dir / "model" / name, tmp / "model" / name)
    saved = check_saved(tmp / "model", model)
    runner = runner_of(model, conv=variant == "hf-tiny")
    manifest = {"variant": variant, "layout": "hf", "config": json.loads((tmp / "model" / "config.json").read_text()),
                "features_from": f"models/{OFFICIAL_TINY}/cases", "saved": saved, "seed": SEED,
                "init": "official tiny weights" if variant == "hf-tiny" else INIT,
                "cases": {}}
    for case in cases:
        entry = {k: official_cases[case][k] for k in CASE_FIELDS}
        t0 = time.time()
        official = np.load(source_dir / "cases" / f"{case}.npz")
        feats, mask = padded_features(official["input_features"])
        base = {k: official[k] for k in ("wav", "input_features", "input_ids")}
        golden = {**base, **golden_case(runner, torch.from_numpy(official["input_ids"]), feats, mask)}
        check_case(f"{variant}/{case}", golden, model, entry["audio_tokens"])
        facts = dict(entry, distinct_tokens=len(set(golden["generated"].tolist())),
                     min_top2_margin=float(golden["top2_margin"].min()))
        if variant == "hf-tiny":
            facts.update(compare_with_official(case, golden, source_dir))
            facts.update(native_feature_diffs(base["wav"], base["input_features"]))
        save_npz(tmp / "cases" / f"{case}.npz", golden)
        manifest["cases"][case] = facts
        print(f"[{variant}] {case}: {facts['distinct_tokens']} distinct tokens ({time.time() - t0:.1f} s)", flush=True)
    if variant == "hf-tiny":
        long_cases = {c: np.load(tmp / "cases" / f"{c}.npz") for c, f in manifest["cases"].items() if f["seconds"] > 8}
        manifest["sdpa_vs_official_windowed_max_abs_diff"] = sdpa_is_windowed_too(model, long_cases, source_dir)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    final = common.publish_build(tmp, stamp)
    print(f"[{variant}] done in {time.time() - started:.1f} s -> {final}")


def main() -> None:
    out = common.parse_out_dir(__doc__.splitlines()[0])
    torch.set_num_threads(2)
    for variant in common.selected(list(CASES)):
        build_variant(variant, out)


if __name__ == "__main__":
    main()

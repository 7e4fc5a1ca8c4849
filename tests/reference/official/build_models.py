"""Golden references from the official qwen-asr 0.0.6 model classes (run in .venv-ref by scripts/test.sh).

For each variant (tiny, 0.6b, 1.7b) writes <out>/models/<variant>/: a random-weight checkpoint in the released
layout, golden tensors per audio case with the encoder windowed to 8 s (cases/), the stock global-attention encoder
for audio over 8 s (global/), and manifest.json. Layout and keys: tests/reference/README.md.

    HF_HUB_OFFLINE=1 .venv-ref/bin/python tests/reference/official/build_models.py --out .cache/references [--force]
        [--only tiny,1.7b]
"""

import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def import_backend_only() -> None:
    """Let `import qwen_asr.core.transformers_backend` skip qwen_asr/__init__.py, which loads the inference stack
    (librosa, nagisa, soynlp; ~10 s). The backend modules themselves are the unmodified official ones."""
    spec = importlib.util.find_spec("qwen_asr")
    package = types.ModuleType("qwen_asr")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules.setdefault("qwen_asr", package)


import_backend_only()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from qwen_asr.core.transformers_backend.processing_qwen3_asr import (  # noqa: E402
    Qwen3ASRProcessor, _get_feat_extract_output_lengths)

import common  # noqa: E402
import official_model as OM  # noqa: E402
from audio_cases import LENGTHS, audio_tokens, case_audio, source_files  # noqa: E402
from torch_goldens import ModelRunner, capture, check_tokens_vary, golden_case, randomize_, save_npz  # noqa: E402

SPEECH = common.ASSETS / "speech"
RELEASED = common.ASSETS / "qwen3-asr-0.6b"
COMPANION_FILES = ["vocab.json", "merges.txt", "tokenizer_config.json", "chat_template.json",
                   "preprocessor_config.json", "generation_config.json"]
AUDIO_PAD = 151676
WINDOW_SECONDS = 8.0
SEED = 1234
# Random init (torch_goldens.randomize_): matrices 2/sqrt(fan_in) (spec §10); the audio projector scaled down so
# the audio embeddings do not drown the text ones; q_norm/k_norm x3 to sharpen the decoder attention (without it,
# greedy decoding repeats 1-7 tokens on audio > 8 s). Greedy tokens vary on every case and margins are ~0.1.
INIT = dict(embed_std=0.1, gain=2.0,
            scale={"audio_tower.proj2.weight": 0.1, "self_attn.q_norm.weight": 3.0, "self_attn.k_norm.weight": 3.0})
# The full-depth 0.6B compounds 28 layers: with gain 2 and q/k x3 its attention is so sharp that float32 rounding
# alone (torch vs torch, let alone torch vs MLX) moves late decoder layers by ~1e-4 of their max. Gain 1 and q/k x2
# keep it well conditioned (MLX vs official ~1e-5) while greedy tokens still vary (22-29 distinct in 32).
INIT_BY_VARIANT = {"0.6b": dict(embed_std=0.1, gain=1.0, scale={"audio_tower.proj2.weight": 0.1,
                                                                 "self_attn.q_norm.weight": 2.0,
                                                                 "self_attn.k_norm.weight": 2.0})}

CASES = {
    "tiny": [f"{kind}-{length}" for kind in ("real", "synth") for length in LENGTHS],
    "0.6b": ["real-0.50s", "real-8.00s", "real-11.37s", "real-35.05s"],
    "1.7b": ["real-1.00s", "real-11.37s"],
}
CONV_HOOKS = {"tiny": True, "0.6b": False, "1.7b": False}


def hand_prompt(n_audio: int) -> list:
    """Spec §5.2 prompt without context or forced language."""
    return ([151644, 8948, 198, 151645, 198, 151644, 872, 198, 151669] + [AUDIO_PAD] * n_audio
            + [151670, 151645, 198, 151644, 77091, 198])


def official_runner(model, conv: bool) -> ModelRunner:
    thinker, tower = model.thinker, model.thinker.audio_tower
    hooks = {f"audio.{n}": getattr(tower, n) for n in (["conv2d1", "conv2d2", "conv2d3"] if conv else [])}
    hooks["audio.conv_out"] = tower.conv_out
    hooks.update({f"audio.layers.{i}": layer for i, layer in enumerate(tower.layers)})
    hooks.update({f"audio.{n}": getattr(tower, n) for n in ("ln_post", "proj1", "proj2")})

    def forward(ids, feats, fmask):
        out = thinker(input_ids=ids, attention_mask=torch.ones_like(ids), input_features=feats,
                      feature_attention_mask=fmask, output_hidden_states=True, use_cache=False)
        return out.logits, out.hidden_states

    def generate(ids, feats, fmask, n):
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), input_features=feats,
                             feature_attention_mask=fmask, max_new_tokens=n, min_new_tokens=n, do_sample=False)
        return out.sequences[0, ids.shape[1]:]

    return ModelRunner(forward=forward, generate=generate, hooks=hooks)


def check_hidden_states(case: dict, model, decoder_layers: int) -> None:
    """HF hidden_states: h0 = merged embeddings, one per layer, the last after the final norm (logits = it @ E^T)."""
    count = sum(k.startswith("text.h") for k in case)
    if count != decoder_layers + 1:
        raise AssertionError(f"{count} hidden states for {decoder_layers} decoder layers")
    audio = case["input_ids"][0] == AUDIO_PAD
    if not np.array_equal(case["text.h0"][0][audio], case["audio.proj2"]):
        raise AssertionError("text.h0 at <|audio_pad|> positions is not the audio embedding")
    embed = model.thinker.model.embed_tokens.weight.detach().numpy()
    tail = case[f"text.h{decoder_layers}"][0, -8:] @ embed.T
    if not np.allclose(tail, case["logits_prompt_tail"][0], atol=1e-3, rtol=1e-4):
        raise AssertionError("last hidden state is not the final-norm output feeding the (tied) head")


def case_inputs(processor, prompt_text: str, case: str):
    """Official processor inputs for a case, after checking frames, token count and prompt against the spec."""
    wav, source = case_audio(case, SPEECH)
    batch = processor(text=prompt_text, audio=[wav], return_tensors="pt", padding=True)
    ids, feats, fmask = batch["input_ids"], batch["input_features"], batch["feature_attention_mask"]
    frames = int(fmask.sum())
    n_audio = audio_tokens(frames)
    if frames != len(wav) // 160 or feats.shape != (1, 128, frames):
        raise AssertionError(f"{case}: {frames} frames, features {tuple(feats.shape)} for {len(wav)} samples")
    if n_audio != int(_get_feat_extract_output_lengths(torch.tensor(frames))):
        raise AssertionError(f"{case}: token-count formula disagrees with _get_feat_extract_output_lengths")
    if ids[0].tolist() != hand_prompt(n_audio):
        raise AssertionError(f"{case}: processor prompt differs from the spec §5.2 token form")
    entry = {"seconds": len(wav) / 16000, "samples": len(wav), "frames": frames, "audio_tokens": n_audio,
             "source": source}
    base = {"wav": wav, "input_features": feats[0].numpy(), "input_ids": ids.numpy().astype(np.int64)}
    return (ids, feats, fmask), base, entry


def encoder_goldens(model, runner, feats, fmask) -> dict:
    """The audio.* stage tensors alone: all a global/ reference needs (no decoder pass, no generation)."""
    caps, handles = capture({k: m for k, m in runner.hooks.items() if k.startswith("audio.")})
    try:
        with torch.no_grad():
            model.thinker.get_audio_features(feats, feature_attention_mask=fmask)
    finally:
        for handle in handles:
            handle.remove()
    return caps


def build_case(model, runner, processor, prompt_text: str, case: str, folder: Path) -> dict:
    """Write cases/<case>.npz (and global/<case>.npz beyond 8 s); return the manifest entry."""
    (ids, feats, fmask), base, entry = case_inputs(processor, prompt_text, case)
    with OM.encoder_attention(windowed=True):
        golden = {**base, **golden_case(runner, ids, feats, fmask)}
    if golden["audio.proj2"].shape[0] != entry["audio_tokens"]:
        raise AssertionError(f"{case}: {golden['audio.proj2'].shape[0]} audio embeddings, "
                             f"expected {entry['audio_tokens']}")
    check_hidden_states(golden, model, len(model.thinker.model.layers))
    entry["distinct_tokens"] = check_tokens_vary(golden, f"{folder.name}/{case}")
    entry["min_top2_margin"] = float(golden["top2_margin"].min())
    save_npz(folder / "cases" / f"{case}.npz", golden)
    if entry["seconds"] > WINDOW_SECONDS:
        with OM.encoder_attention(windowed=False):
            stock = {**base, **encoder_goldens(model, runner, feats, fmask)}
        diff = float(np.abs(stock["audio.proj2"] - golden["audio.proj2"]).max())
        if not diff > 1e-3:
            raise AssertionError(f"{case}: windowed and global encoders agree on > 8 s audio (max diff {diff})")
        save_npz(folder / "global" / f"{case}.npz", stock)
        entry["global_max_abs_diff"] = diff
    else:
        with OM.encoder_attention(windowed=False), torch.no_grad():
            stock = model.thinker.get_audio_features(feats, feature_attention_mask=fmask).numpy()
        diff = float(np.abs(stock - golden["audio.proj2"]).max())
        if diff > 1e-6:
            raise AssertionError(f"{case}: windowed and global encoders differ on <= 8 s audio ({diff})")
    return entry


def write_model(variant: str, cfg_dict: dict, folder: Path):
    """model/: config.json as released, companion files, random-weight checkpoint. Returns the model."""
    folder.mkdir(parents=True)
    for name in COMPANION_FILES:
        shutil.copy(RELEASED / name, folder / name)
    if OM.DIMS[variant] is None:
        shutil.copy(RELEASED / "config.json", folder / "config.json")
    else:
        (folder / "config.json").write_text(json.dumps(cfg_dict, indent=2, ensure_ascii=False) + "\n")
    model = OM.build(cfg_dict)
    randomize_(model, SEED, **INIT_BY_VARIANT.get(variant, INIT))
    OM.save_checkpoint(model, cfg_dict, folder, OM.SHARDS[variant])
    return model


def variant_stamp(variant: str, cfg_dict: dict) -> str:
    """Hash of everything a variant's output depends on: sources, asset files, clips, settings, versions."""
    cases = CASES[variant]
    inputs = [HERE / "build_models.py", HERE.parent / "official_model.py", HERE.parent / "torch_goldens.py",
              HERE.parent / "audio_cases.py", HERE.parent / "common.py", *[RELEASED / f for f in COMPANION_FILES],
              *source_files(cases, SPEECH)]
    init = INIT_BY_VARIANT.get(variant, INIT)
    return common.fingerprint(*inputs, cfg_dict, cases, SEED, init, torch.__version__, transformers.__version__,
                              importlib.metadata.version("qwen-asr"))


def build_variant(variant: str, out: Path) -> None:
    cfg_dict = OM.config_dict(variant, json.loads((RELEASED / "config.json").read_text()))
    cases = CASES[variant]
    stamp = variant_stamp(variant, cfg_dict)
    tmp = common.begin_build(out, variant, stamp)
    if tmp is None:
        return
    started, cpu_started = time.time(), time.process_time()
    model = write_model(variant, cfg_dict, tmp / "model")
    print(f"[{variant}] checkpoint saved ({time.time() - started:.1f} s)")
    processor = Qwen3ASRProcessor.from_pretrained(str(tmp / "model"))
    messages = [{"role": "system", "content": ""}, {"role": "user", "content": [{"type": "audio", "audio": ""}]}]
    prompt_text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    runner = official_runner(model, CONV_HOOKS[variant])
    manifest = {"variant": variant, "layout": "official", "config": cfg_dict, "seed": SEED,
                "init": INIT_BY_VARIANT.get(variant, INIT), "cases": {}}
    for case in cases:
        t0 = time.time()
        entry = manifest["cases"][case] = build_case(model, runner, processor, prompt_text, case, tmp)
        print(f"[{variant}] {case}: {entry['audio_tokens']} audio tokens, {entry['distinct_tokens']} distinct greedy "
              f"tokens, min margin {entry['min_top2_margin']:.3g} ({time.time() - t0:.1f} s)")
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    final = common.publish_build(tmp, stamp)
    print(f"[{variant}] done in {time.time() - started:.1f} s wall, {time.process_time() - cpu_started:.1f} s CPU "
          f"-> {final}")


def main() -> None:
    out = common.parse_out_dir(__doc__.splitlines()[0])
    for variant in common.selected(list(CASES)):
        # Tiny matmuls gain nothing from threads (and lose a lot on a busy machine).
        torch.set_num_threads(1 if variant == "tiny" else int(os.environ.get("MLX_ASR_REF_THREADS", "2")))
        build_variant(variant, out)


if __name__ == "__main__":
    main()

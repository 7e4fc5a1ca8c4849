"""Forced-aligner references: a random-weight Qwen3-ForcedAligner built from the real config, and what the
official `Qwen3ForcedAligner.align` makes of real clips with their transcripts.

Run in .venv-ref (qwen-asr 0.0.6, transformers 4.57.6, torch 2.13.0, nagisa, soynlp):

    python tests/reference/official/build_aligner_model.py --out .cache/references

Writes `<out>/models/aligner/` (model/, cases/<case>.npz, manifest.json, STAMP; see tests/reference/README.md).
"""

import copy
import importlib.metadata
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from qwen_asr.core.transformers_backend.processing_qwen3_asr import Qwen3ASRProcessor  # noqa: E402
from qwen_asr.inference.qwen3_forced_aligner import Qwen3ForceAlignProcessor, Qwen3ForcedAligner  # noqa: E402

import common  # noqa: E402
import official_model as OM  # noqa: E402
from audio_cases import read_wav  # noqa: E402
from torch_goldens import randomize_, save_npz  # noqa: E402

RELEASED = common.ASSETS / "qwen3-forcedaligner-0.6b"
SPEECH = common.ASSETS / "speech"
COMPANION_FILES = ["vocab.json", "merges.txt", "tokenizer_config.json", "chat_template.json",
                   "preprocessor_config.json", "generation_config.json"]
VARIANT = "aligner"
# The real aligner widths (audio 1024/16 heads/4096, text 1024, vocab 152064, 5000-class head), 4 + 4 layers.
LAYERS = dict(encoder=4, decoder=4)
SEED = 4321
INIT = dict(embed_std=0.1, gain=1.0, scale={"audio_tower.proj2.weight": 0.1, "self_attn.q_norm.weight": 2.0,
                                             "self_attn.k_norm.weight": 2.0})
TIMESTAMP_ID = 151705
# case -> (clips concatenated, official language name). Transcripts come from the manifest.
CASES = {
    "en-10s": (["fleurs/fleurs-en-000.wav"], "English"),
    "de-8s": (["fleurs/fleurs-de-005.wav"], "German"),
    "zh-4s": (["zh/BAC009S0764W0121.wav"], "Chinese"),
    "ja-5s": (["leopard/test_ja.wav"], "Japanese"),
    "ko-4s": (["leopard/test_ko.wav"], "Korean"),
    "en-30s": (["fleurs/fleurs-en-001.wav", "fleurs/fleurs-en-002.wav", "fleurs/fleurs-en-003.wav"], "English"),
}


def config_dict() -> dict:
    cfg = copy.deepcopy(json.loads((RELEASED / "config.json").read_text()))
    audio, text = cfg["thinker_config"]["audio_config"], cfg["thinker_config"]["text_config"]
    audio["encoder_layers"] = audio["num_hidden_layers"] = LAYERS["encoder"]
    text["num_hidden_layers"] = LAYERS["decoder"]
    return cfg


def transcripts() -> dict:
    rows = (line.split("\t") for line in (SPEECH / "manifest.tsv").read_text().splitlines()[1:])
    return {row[0]: row[3] for row in rows if len(row) > 3}


def write_model(cfg_dict: dict, folder: Path):
    folder.mkdir(parents=True)
    for name in COMPANION_FILES:
        shutil.copy(RELEASED / name, folder / name)
    (folder / "config.json").write_text(json.dumps(cfg_dict, indent=2, ensure_ascii=False) + "\n")
    model = OM.build(cfg_dict)
    if model.thinker.lm_head.weight.shape != (5000, 1024) or "forced_aligner" not in model.thinker.config.model_type:
        raise AssertionError("the official class did not build the aligner head")
    randomize_(model, SEED, **INIT)
    OM.save_checkpoint(model, cfg_dict, folder, shards=1)
    return model


def build_case(aligner: Qwen3ForcedAligner, clips: list, language: str, texts: dict) -> tuple[dict, dict]:
    wav = np.concatenate([read_wav(SPEECH / clip) for clip in clips])
    text = " ".join(texts[clip] for clip in clips)
    words, input_text = aligner.aligner_processor.encode_timestamp(text, language)
    batch = aligner.processor(text=[input_text], audio=[wav], return_tensors="pt", padding=True)
    with torch.inference_mode():
        logits = aligner.model.thinker(**batch).logits[0].float().numpy()
    ids = batch["input_ids"][0].numpy()
    positions = np.flatnonzero(ids == TIMESTAMP_ID)
    if len(positions) != 2 * len(words):
        raise AssertionError(f"{len(positions)} <timestamp> tokens for {len(words)} words")
    rows = logits[positions]
    top2 = np.sort(rows, axis=-1)[:, -2:]
    items = aligner.align(audio=(wav, 16000), text=text, language=language)[0]
    slots = rows.argmax(-1)
    expected = aligner.aligner_processor.parse_timestamp(words, slots * 80.0)
    if [(w["start_time"], w["end_time"]) for w in expected] != [
            (round(i.start_time * 1000), round(i.end_time * 1000)) for i in items]:
        raise AssertionError("align() disagrees with the argmax of the captured logits")
    arrays = {"wav": wav, "input_features": batch["input_features"][0].numpy(),
              "input_ids": ids.astype(np.int64), "timestamp_positions": positions.astype(np.int64),
              "timestamp_logits": rows, "slots": slots.astype(np.int64), "top2_margin": top2[:, 1] - top2[:, 0]}
    entry = {"clips": clips, "language": language, "text": text, "seconds": len(wav) / 16000, "words": words,
             "items": [[i.text, i.start_time, i.end_time] for i in items],
             "distinct_slots": int(len(set(slots.tolist()))), "min_top2_margin": float(arrays["top2_margin"].min())}
    return arrays, entry


def stamp(cfg_dict: dict) -> str:
    inputs = [HERE / "build_aligner_model.py", HERE.parent / "official_model.py", HERE.parent / "torch_goldens.py",
              HERE.parent / "audio_cases.py", HERE.parent / "common.py", RELEASED / "config.json",
              *[RELEASED / f for f in COMPANION_FILES], SPEECH / "manifest.tsv",
              *sorted({SPEECH / c for clips, _ in CASES.values() for c in clips})]
    return common.fingerprint(*inputs, cfg_dict, CASES, SEED, INIT, torch.__version__, transformers.__version__,
                              importlib.metadata.version("qwen-asr"))


def main() -> None:
    out = common.parse_out_dir(__doc__.splitlines()[0])
    if not common.selected([VARIANT]):
        return
    torch.set_num_threads(int(os.environ.get("MLX_ASR_REF_THREADS", "2")))
    cfg_dict = config_dict()
    current = stamp(cfg_dict)
    tmp = common.begin_build(out, VARIANT, current)
    if tmp is None:
        return
    started = time.time()
    model = write_model(cfg_dict, tmp / "model")
    processor = Qwen3ASRProcessor.from_pretrained(str(tmp / "model"), fix_mistral_regex=True)
    aligner = Qwen3ForcedAligner(model=model, processor=processor, aligner_processor=Qwen3ForceAlignProcessor())
    texts = transcripts()
    manifest = {"variant": VARIANT, "layout": "official", "config": cfg_dict, "seed": SEED, "init": INIT,
                "cases": {}}
    (tmp / "cases").mkdir()
    with OM.encoder_attention(windowed=True):
        for case, (clips, language) in CASES.items():
            t0 = time.time()
            arrays, entry = build_case(aligner, clips, language, texts)
            save_npz(tmp / "cases" / f"{case}.npz", arrays)
            manifest["cases"][case] = entry
            print(f"[{VARIANT}] {case}: {len(entry['words'])} words, {entry['distinct_slots']} distinct slots, "
                  f"min margin {entry['min_top2_margin']:.3g} ({time.time() - t0:.1f} s)")
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    final = common.publish_build(tmp, current)
    print(f"[{VARIANT}] done in {time.time() - started:.1f} s -> {final}")


if __name__ == "__main__":
    main()

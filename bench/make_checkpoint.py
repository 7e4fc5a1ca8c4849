"""Build a random-weight, full-size Qwen3-ASR-0.6B checkpoint in the released layout (float32 file).

Same recipe as the reference builders (QWEN3_ASR_SPEC.md section 10): the real config.json and tokenizer files,
random weights. Run in a virtualenv that has torch and qwen-asr (bench/run.py uses the official peer venv):

    python bench/make_checkpoint.py --out .cache/bench-model/0.6b
"""

import argparse
import json
import shutil
from pathlib import Path

import torch
from qwen_asr.core.transformers_backend import modeling_qwen3_asr as official
from qwen_asr.core.transformers_backend.configuration_qwen3_asr import Qwen3ASRConfig
from safetensors.torch import save_file

ASSET_FILES = ["config.json", "chat_template.json", "generation_config.json", "merges.txt",
               "preprocessor_config.json", "tokenizer_config.json", "vocab.json"]


def random_weights(model: torch.nn.Module, seed: int = 0) -> None:
    """N(0, (2/sqrt(fan_in))^2) matrices, 1 + 0.1 N(0,1) norm weights, 0.02 N(0,1) biases and embeddings."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            if name.endswith(("norm.weight", "ln_post.weight")):
                p.copy_(1 + 0.1 * noise)
            elif p.ndim == 1 or "embed_tokens" in name:
                p.copy_(0.02 * noise)
            else:
                fan_in = p[0].numel()
                p.copy_(noise * (2.0 / fan_in**0.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=Path, required=True, help="folder with the real 0.6B config/tokenizer")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config_dict = json.loads((args.assets / "config.json").read_text())
    config = Qwen3ASRConfig(**config_dict)
    model = official.Qwen3ASRForConditionalGeneration(config).eval().float()
    random_weights(model)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if "thinker.lm_head.weight" in state:  # released files store the tied head as its own tensor
        state["thinker.lm_head.weight"] = state["thinker.lm_head.weight"].clone()
    save_file(state, str(args.out / "model.safetensors"), metadata={"format": "pt"})
    for name in ASSET_FILES:
        shutil.copy(args.assets / name, args.out / name)
    print(f"wrote {args.out} ({sum(v.numel() for v in state.values()) / 1e6:.1f} M parameters)")


if __name__ == "__main__":
    main()

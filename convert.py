"""Convert a Qwen3-ASR checkpoint to MLX, optionally quantized (flags as in mlx-lm's converter).

    python convert.py --hf-path Qwen/Qwen3-ASR-0.6B --mlx-path qwen3-asr-0.6b-4bit -q
    python convert.py --hf-path ./Qwen3-ASR-1.7B --mlx-path qwen3-asr-1.7b-4bit-enc8 -q --encoder-bits 8
"""

import argparse
import logging
import sys

from mlx_asr.convert import AlreadyConvertedError, NotACheckpointError, convert
from mlx_asr.quantize import BITS, GROUP_SIZES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--hf-path", required=True, help="Hugging Face repo id or local checkpoint folder")
    parser.add_argument("--mlx-path", default="mlx_model", help="output folder")
    parser.add_argument("--dtype", choices=["float16", "bfloat16", "float32"], default="float16",
                        help="dtype of the float weights and of the quantization scales")
    parser.add_argument("-q", "--quantize", action="store_true", help="quantize the text decoder")
    parser.add_argument("--q-bits", type=int, choices=BITS, default=4, help="bits per decoder weight")
    parser.add_argument("--q-group-size", type=int, choices=GROUP_SIZES, default=64, help="quantization group size")
    parser.add_argument("--encoder-bits", type=int, choices=BITS, default=None,
                        help="also quantize the audio encoder with these bits (default: keep it in --dtype)")
    parser.add_argument("--q-embedding", action="store_true",
                        help="also quantize the tied embedding / output head (default: keep it in --dtype)")
    parser.add_argument("--upload-repo", default=None, help="Hugging Face repo to push the result to")
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    for flag, value in (("--encoder-bits", args.encoder_bits), ("--q-embedding", args.q_embedding)):
        if value and not args.quantize:
            parser.error(f"{flag} requires -q/--quantize")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        convert(args.hf_path, args.mlx_path, dtype=args.dtype, quantize=args.quantize, q_bits=args.q_bits,
                q_group_size=args.q_group_size, encoder_bits=args.encoder_bits, quantize_embedding=args.q_embedding,
                upload_repo=args.upload_repo)
    except (NotACheckpointError, AlreadyConvertedError, FileExistsError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()

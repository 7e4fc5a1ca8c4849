"""Convert a Qwen3-ASR checkpoint (released or HF-native layout) to a self-contained MLX folder, maybe quantized."""

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Union

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten

from . import __version__
from .config import ModelConfig
from .load import resolve
from .model import Qwen3ASR
from .quantize import convert_predicate, quantization_config
from .weights import check_keys

logger = logging.getLogger(__name__)

DTYPES = {"float16": mx.float16, "bfloat16": mx.bfloat16, "float32": mx.float32}
MAX_SHARD_BYTES = 5 << 30
MARKER = "mlx_asr"  # config.json key written by convert (its recipe); a folder carrying it is already converted
COMPANION_FILES = ("generation_config.json", "preprocessor_config.json", "processor_config.json",
                   "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json", "vocab.json", "merges.txt",
                   "chat_template.json", "chat_template.jinja")


class NotACheckpointError(ValueError):
    """The source folder is not a Qwen3-ASR checkpoint (the message names what is missing)."""


class AlreadyConvertedError(ValueError):
    """The source folder was written by this converter, or the output exists with another recipe."""


def _recipe(source: str, dtype: str, quantize: bool, q_bits: int, q_group_size: int, encoder_bits: Optional[int],
            quantize_embedding: bool) -> dict:
    quant = ({"bits": q_bits, "group_size": q_group_size, "encoder_bits": encoder_bits,
              "quantize_embedding": quantize_embedding} if quantize else None)
    return {"source": source, "dtype": dtype, "quantize": quant, "version": __version__}


def _read_source(path: Path) -> dict:
    config_file = path / "config.json"
    if not config_file.exists():
        raise NotACheckpointError(f"{path} is not a Qwen3-ASR checkpoint: it has no config.json")
    config = json.loads(config_file.read_text())
    if MARKER in config or "quantization" in config:
        raise AlreadyConvertedError(
            f"{path} is already an MLX conversion ({config.get(MARKER) or config.get('quantization')}); "
            "load it with mlx_asr.load(), or convert from the original checkpoint")
    try:
        ModelConfig.from_dict(config)
    except (ValueError, KeyError, TypeError) as error:
        raise NotACheckpointError(f"{path} is not a Qwen3-ASR checkpoint: {error}") from error
    if not list(path.glob("*.safetensors")):
        raise NotACheckpointError(f"{path} is not a Qwen3-ASR checkpoint: it has no *.safetensors weight files")
    return config


def _existing_output(out: Path, recipe: dict) -> bool:
    """True when ``out`` already holds this exact conversion (a no-op); error when it holds anything else."""
    if not out.exists():
        return False
    config_file = out / "config.json"
    previous = json.loads(config_file.read_text()).get(MARKER) if config_file.exists() else None
    if previous is not None and {**previous, "version": None} == {**recipe, "version": None}:
        return True
    raise FileExistsError(f"{out} already exists and is not this conversion ({previous or 'not an MLX conversion'}); "
                          "delete it or choose another --mlx-path")


def _build(path: Path, config: dict, dtype: mx.Dtype) -> Qwen3ASR:
    """The model with the checkpoint's weights (lazy), sanitized, checked strictly and cast to ``dtype``."""
    model = Qwen3ASR(ModelConfig.from_dict(config))
    weights = {}
    for file in sorted(path.glob("*.safetensors")):
        weights.update(mx.load(str(file)))
    weights = model.sanitize(weights)
    try:
        check_keys(model, weights)
    except ValueError as error:
        raise NotACheckpointError(f"{path}: {error}") from error
    weights = {k: v.astype(dtype) if mx.issubdtype(v.dtype, mx.floating) else v for k, v in weights.items()}
    model.load_weights(list(weights.items()), strict=True)
    return model


def shard(weights: Dict[str, mx.array], max_bytes: int = MAX_SHARD_BYTES) -> List[Dict[str, mx.array]]:
    """Split a flat weight dict, in key order, into shards of at most ``max_bytes`` (a larger tensor stands alone)."""
    shards, current, size = [], {}, 0
    for key in sorted(weights):
        nbytes = weights[key].nbytes
        if current and size + nbytes > max_bytes:
            shards.append(current)
            current, size = {}, 0
        current[key] = weights[key]
        size += nbytes
    if current:
        shards.append(current)
    return shards


def save_weights(folder: Path, weights: Dict[str, mx.array], max_shard_bytes: int = MAX_SHARD_BYTES) -> int:
    """Save safetensors shards (+ an index when more than one); consumes ``weights``. Returns the total bytes."""
    shards = shard(weights, max_shard_bytes)
    weights.clear()
    names = (["model.safetensors"] if len(shards) == 1 else
             [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))])
    weight_map, total = {}, 0
    while shards:
        part, name = shards.pop(0), names[len(names) - len(shards) - 1]
        mx.save_safetensors(str(folder / name), part, metadata={"format": "mlx"})
        total += sum(v.nbytes for v in part.values())
        weight_map.update({key: name for key in part})
        del part  # evaluated tensors of this shard can be freed before the next is computed
    if len(names) > 1:
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    return total


def _model_card(recipe: dict, total_bytes: int) -> str:
    quant = recipe["quantize"]
    if quant:
        encoder = f"{quant['encoder_bits']}-bit" if quant["encoder_bits"] else recipe["dtype"]
        head = f"{quant['bits']}-bit" if quant["quantize_embedding"] else recipe["dtype"]
        what = (f"text decoder {quant['bits']}-bit (group size {quant['group_size']}), audio encoder {encoder}, "
                f"tied embedding / output head {head}")
    else:
        what = f"all weights {recipe['dtype']}"
    return (f"---\nlibrary_name: mlx\ntags:\n- mlx\n- automatic-speech-recognition\n- qwen3-asr\n---\n\n"
            f"# {Path(recipe['source']).name if Path(recipe['source']).exists() else recipe['source']} for MLX\n\n"
            f"Converted from `{recipe['source']}` with mlx-asr {recipe['version']} (`convert.py`): {what}; "
            f"{total_bytes / 1e9:.2f} GB of weights.\n\n"
            "```python\nimport mlx_asr\n\nmodel = mlx_asr.load(\"path/to/this/folder\")\n"
            "print(model.transcribe(\"audio.wav\").text)\n```\n")


def convert(hf_path: Union[str, Path], mlx_path: Union[str, Path], dtype: str = "float16", quantize: bool = False,
            q_bits: int = 4, q_group_size: int = 64, encoder_bits: Optional[int] = None,
            quantize_embedding: bool = False, upload_repo: Optional[str] = None,
            max_shard_bytes: int = MAX_SHARD_BYTES) -> Path:
    """Convert a Qwen3-ASR checkpoint to an MLX folder that ``mlx_asr.load`` reads.

    Args:
        hf_path: a local checkpoint folder (released ``thinker.*`` or HF-native layout, sharded or not) or a
            Hugging Face repo id (downloaded only then).
        mlx_path: the output folder; written beside itself as ``.<name>.partial`` and renamed when complete.
        dtype: ``"float16"``, ``"bfloat16"`` or ``"float32"`` for every float weight (and quantization scales).
        quantize: quantize the text decoder's linear layers (affine, ``q_bits``, ``q_group_size``).
        q_bits: 4 or 8.
        q_group_size: 32, 64 or 128.
        encoder_bits: also quantize the audio encoder and projector with this many bits (4 or 8);
            ``None`` keeps them in ``dtype``. Requires ``quantize``.
        quantize_embedding: also quantize the tied token embedding / output head (default float; see
            ``mlx_asr.quantize.HEAD_DECISION``).
        upload_repo: push the folder to this Hugging Face repo afterwards.
        max_shard_bytes: largest safetensors file.

    Returns:
        The output folder. When it already holds this exact conversion, nothing is done.

    Raises:
        NotACheckpointError: the source is not a Qwen3-ASR checkpoint (names what is missing).
        AlreadyConvertedError: the source is itself an MLX conversion.
        FileExistsError: ``mlx_path`` exists and holds something else.
        ValueError: unsupported dtype, bits or group size.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    if encoder_bits is not None and not quantize:
        raise ValueError("encoder_bits requires quantize (-q)")
    if quantize_embedding and not quantize:
        raise ValueError("quantize_embedding requires quantize (-q)")
    predicate = convert_predicate(q_bits, q_group_size, encoder_bits, quantize_embedding) if quantize else None
    out = Path(mlx_path).expanduser()
    recipe = _recipe(str(hf_path), dtype, quantize, q_bits, q_group_size, encoder_bits, quantize_embedding)
    if _existing_output(out, recipe):
        logger.info("%s already holds this conversion; nothing to do", out)
        return out
    source = resolve(hf_path)
    if source.resolve() == out.resolve():
        raise AlreadyConvertedError(f"--hf-path and --mlx-path are the same folder ({out})")
    config = _read_source(source)

    model = _build(source, config, DTYPES[dtype])
    if predicate is not None:
        nn.quantize(model, group_size=q_group_size, bits=q_bits, class_predicate=predicate)
        config["quantization"] = quantization_config(model, q_bits, q_group_size)
        config["quantization_config"] = config["quantization"]  # the name transformers and the hub read
    config[MARKER] = recipe
    weights = dict(tree_flatten(model.parameters()))
    del model

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted run
    partial.mkdir()
    try:
        total = save_weights(partial, weights, max_shard_bytes)
        (partial / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        for name in COMPANION_FILES:
            if (source / name).exists():
                shutil.copy(source / name, partial / name)
        (partial / "README.md").write_text(_model_card(recipe, total))
        if out.exists():
            raise FileExistsError(f"{out} appeared while converting; the conversion was discarded")
        os.rename(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    logger.info("wrote %s (%.2f GB of weights)", out, total / 1e9)
    if upload_repo:
        upload(out, upload_repo)
    return out


def upload(folder: Path, repo_id: str) -> None:
    """Create (if needed) and push ``folder`` to the Hugging Face model repo ``repo_id``."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, repo_type="model", exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model")
    logger.info("uploaded %s to https://huggingface.co/%s", folder, repo_id)

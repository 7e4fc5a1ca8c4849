"""Physical floors: what this machine can do at best, and what that means for the model.

``python bench/floors.py`` (with the OpenBLAS preload) measures memory bandwidth (a large copy and a float32 GEMV)
and float32 GEMM throughput and prints JSON. The functions below turn those into the floors of decode ms/token
(bytes of weights and KV cache read per token) and of encoder + prefill time (FLOPs of the convs, encoder layers,
projector and decoder prefill), from the checkpoint's config.json.
"""

import json
import sys
import time

import numpy as np

BYTES_PER_WEIGHT = {"float32": 4.0, "bfloat16": 2.0, "float16": 2.0,
                    "8bit-g64": 1.0 + 4 / 64, "4bit-g64": 0.5 + 4 / 64}  # + fp16 scale and bias per group


def _best_seconds(run, repeats: int) -> float:
    run()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def measure(repeats: int = 7) -> dict:
    """Copy and GEMV bandwidth (GB/s) and GEMM throughput (GFLOP/s), best of ``repeats``."""
    import mlx.core as mx

    n = 64 * 2**20  # 256 MB of float32: far beyond any cache
    src, dst = np.ones(n, np.float32), np.empty(n, np.float32)
    copy_numpy = 2 * 4 * n / _best_seconds(lambda: np.copyto(dst, src), repeats) / 1e9
    x = mx.ones((n,), mx.float32)
    mx.eval(x)
    copy_mlx = 2 * 4 * n / _best_seconds(lambda: mx.eval(x + 0.0), repeats) / 1e9
    rows = 8192
    w, v = mx.random.normal((rows, rows)), mx.random.normal((rows, 1))
    mx.eval(w, v)
    gemv = 4 * rows * rows / _best_seconds(lambda: mx.eval(w @ v), repeats) / 1e9
    w_np, v_np = np.array(w), np.array(v)[:, 0]
    gemv_numpy = 4 * rows * rows / _best_seconds(lambda: w_np @ v_np, repeats) / 1e9
    gemm = {}
    for size in (1024, 2048, 3072):
        a, b = mx.random.normal((size, size)), mx.random.normal((size, size))
        mx.eval(a, b)
        gemm[f"mlx_{size}"] = 2 * size**3 / _best_seconds(lambda: mx.eval(a @ b), max(3, repeats // 2)) / 1e9
        a_np, b_np = np.array(a), np.array(b)
        gemm[f"numpy_{size}"] = 2 * size**3 / _best_seconds(lambda: a_np @ b_np, max(3, repeats // 2)) / 1e9
    return {"copy_numpy_gbs": copy_numpy, "copy_mlx_gbs": copy_mlx, "gemv_mlx_gbs": gemv,
            "gemv_numpy_gbs": gemv_numpy, "bandwidth_gbs": max(copy_numpy, copy_mlx, gemv, gemv_numpy),
            "gemm_fp32_gflops_by_run": gemm, "gemm_fp32_gflops": max(gemm.values())}


def _text_layer_weights(text: dict) -> int:
    h, inter, head = text["hidden_size"], text["intermediate_size"], text["head_dim"]
    q, kv = text["num_attention_heads"] * head, text["num_key_value_heads"] * head
    return h * q + 2 * h * kv + q * h + 3 * h * inter + 2 * h + 2 * head  # projections, MLP, norms


def decode_bytes_per_token(config: dict, context: float, dtype: str = "float32") -> dict:
    """Bytes read to make one token: decoder layers + output head (weights) and the KV cache at ``context``."""
    text = config["thinker_config"]["text_config"]
    weights = text["num_hidden_layers"] * _text_layer_weights(text) + text["vocab_size"] * text["hidden_size"]
    kv_width = 2 * text["num_key_value_heads"] * text["head_dim"]
    kv_bytes = text["num_hidden_layers"] * kv_width * context * BYTES_PER_WEIGHT.get(dtype, 2.0)
    return {"weights": weights * BYTES_PER_WEIGHT[dtype], "kv_cache": kv_bytes}


def encoder_prefill_flops(config: dict, frames: int, prompt_tokens: int) -> dict:
    """FLOPs (2 per multiply-add) of the convs, encoder layers + projector, and decoder prefill (head: 1 row)."""
    audio, text = config["thinker_config"]["audio_config"], config["thinker_config"]["text_config"]
    c, d, ffn = audio["downsample_hidden_size"], audio["d_model"], audio["encoder_ffn_dim"]
    chunk = 2 * audio["n_window"]
    chunks = -(-frames // chunk)  # the tail chunk is padded to a full one
    f, t, convs = audio["num_mel_bins"], chunk, 0
    for c_in in (1, c, c):
        f, t = (f + 1) // 2, (t + 1) // 2  # stride 2, padding 1, kernel 3
        convs += 2 * f * t * c * c_in * 9
    convs = chunks * (convs + 2 * t * (c * f) * d)  # + conv_out on every padded chunk position
    tokens = 13 * (frames // 100) + -(-(frames % 100) // 8)
    window = 13 * (audio["n_window_infer"] // chunk)
    windows = [window] * (tokens // window) + ([tokens % window] if tokens % window else [])
    layer_matmuls = 2 * tokens * (4 * d * d + 2 * d * ffn)
    layer_attention = sum(4 * w * w * d for w in windows)
    encoder = audio["encoder_layers"] * (layer_matmuls + layer_attention)
    projector = 2 * tokens * (d * d + d * audio["output_dim"])
    width = text["num_attention_heads"] * text["head_dim"]
    prefill = text["num_hidden_layers"] * (2 * prompt_tokens * _text_layer_weights(text)
                                           + 2 * prompt_tokens * (prompt_tokens + 1) * width)  # causal QK^T + AV
    prefill += 2 * text["vocab_size"] * text["hidden_size"]
    return {"convs": convs, "encoder_layers": encoder + projector, "prefill": prefill,
            "audio_tokens": tokens, "total": convs + encoder + projector + prefill}


def model_floors(config: dict, machine: dict, frames: int, prompt_tokens: int, decode_tokens: int,
                 dtype: str = "float32") -> dict:
    """Floor seconds of encoder + prefill (GEMM-bound) and of decode ms/token (bandwidth-bound) for one clip."""
    flops = encoder_prefill_flops(config, frames, prompt_tokens)
    mean_context = prompt_tokens + decode_tokens / 2
    read = decode_bytes_per_token(config, mean_context, dtype)
    bandwidth = machine["bandwidth_gbs"] * 1e9
    return {"encoder_prefill_gflop": flops["total"] / 1e9,
            "encoder_prefill_floor_s": flops["total"] / (machine["gemm_fp32_gflops"] * 1e9),
            "decode_gb_per_token": (read["weights"] + read["kv_cache"]) / 1e9,
            "decode_floor_ms_per_token": 1e3 * (read["weights"] + read["kv_cache"]) / bandwidth,
            "decode_weights_only_floor_ms_by_dtype": {
                name: 1e3 * decode_bytes_per_token(config, 0, name)["weights"] / bandwidth
                for name in BYTES_PER_WEIGHT}}


if __name__ == "__main__":
    json.dump(measure(), sys.stdout, indent=1)
    print()

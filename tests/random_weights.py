"""Random weights for full-size models built in MLX (no reference needed): two recipes, used by the conversion
tests and by bench/bench_quantization_bound.py.

- ``"official"``: what ``from_config`` gives with the official classes (transformers' ``_init_weights``): every
  matrix, convolution and embedding N(0, initializer_range^2 = 0.02^2), biases 0, norm weights 1.
- ``"synthetic"``: well-conditioned matrices N(0, 1/fan_in), embeddings N(0, 0.1^2), norm weights 1 + 0.1 N,
  biases 0.02 N: greedy tokens vary (the official recipe's greedy output repeats one token).
"""

import numpy as np
import mlx.core as mx
from mlx.utils import tree_flatten

RECIPES = ("official", "synthetic")
INITIALIZER_RANGE = 0.02


def _is_norm(key: str) -> bool:
    return "norm" in key or "ln_post" in key


def random_weights(model, recipe: str = "synthetic", seed: int = 0) -> list:
    """Draw every parameter of ``model`` by ``recipe``, load them into it and return them as (key, array) pairs."""
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, not {recipe!r}")
    rng = np.random.default_rng(seed)
    params = []
    for key, value in tree_flatten(model.parameters()):
        noise = rng.standard_normal(value.shape, dtype=np.float32)
        if value.ndim == 1:
            if recipe == "official":
                noise = np.full_like(noise, 1.0 if _is_norm(key) else 0.0)
            else:
                noise = 1 + 0.1 * noise if _is_norm(key) else 0.02 * noise
        elif recipe == "official":
            noise *= INITIALIZER_RANGE
        elif "embed_tokens" in key:
            noise *= 0.1
        else:
            noise /= np.sqrt(np.prod(value.shape[1:]))
        params.append((key, mx.array(noise)))
    model.load_weights(params)
    return params

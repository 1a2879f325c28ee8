"""Feature statistics as LeRobot keeps them: per episode, and merged over a dataset."""
from __future__ import annotations

import numpy as np

QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}  # as LeRobot keeps them
STATS = ("min", "max", "mean", "std", "count", *QUANTILES)


def stats(values: np.ndarray) -> dict[str, list]:
    """min/max/mean/std and the quantiles over the first axis of (T, ...) values, and their count
    (policies that normalise by quantiles, pi0.5's, need q01 and q99)."""
    values = np.asarray(values, dtype=np.float64)
    return {"min": values.min(axis=0).tolist(), "max": values.max(axis=0).tolist(),
            "mean": values.mean(axis=0).tolist(), "std": values.std(axis=0).tolist(), "count": [len(values)],
            **{key: np.quantile(values, q, axis=0).tolist() for key, q in QUANTILES.items()}}


def image_stats(frames: np.ndarray) -> dict[str, list]:
    """Per-channel statistics of frames (T, H, W, C) scaled to [0, 1], shaped (C, 1, 1) as LeRobot
    keeps them; `count` is the number of frames."""
    pixels = frames.reshape(-1, frames.shape[-1]) / 255.0
    per_channel = stats(pixels)
    return {key: ([[[v]] for v in values] if key != "count" else [len(frames)]) for key, values in per_channel.items()}


def merged(episodes: list[dict[str, list]]) -> dict[str, list]:
    """One feature's statistics over several episodes' (counts weigh the means; the spread within
    and between episodes makes the variance; quantiles are count-weighted means, as LeRobot merges
    them, since exact ones would need every value again)."""
    counts = np.array([e["count"][0] for e in episodes], dtype=np.float64)
    means = np.array([e["mean"] for e in episodes], dtype=np.float64)
    variances = np.array([e["std"] for e in episodes], dtype=np.float64) ** 2
    weights = (counts / counts.sum()).reshape(-1, *([1] * (means.ndim - 1)))
    mean = (weights * means).sum(axis=0)
    variance = (weights * (variances + (means - mean) ** 2)).sum(axis=0)
    return {"min": np.min([e["min"] for e in episodes], axis=0).tolist(),
            "max": np.max([e["max"] for e in episodes], axis=0).tolist(),
            "mean": mean.tolist(), "std": np.sqrt(variance).tolist(), "count": [int(counts.sum())],
            **{key: (weights * np.array([e[key] for e in episodes])).sum(axis=0).tolist() for key in QUANTILES}}

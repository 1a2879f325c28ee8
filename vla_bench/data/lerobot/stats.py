"""Feature statistics as LeRobot keeps them: per episode, and merged over a dataset."""
from __future__ import annotations

import numpy as np

STATS = ("min", "max", "mean", "std", "count")


def stats(values: np.ndarray) -> dict[str, list]:
    """min/max/mean/std over the first axis of (T, ...) values, and their count."""
    values = np.asarray(values, dtype=np.float64)
    return {"min": values.min(axis=0).tolist(), "max": values.max(axis=0).tolist(),
            "mean": values.mean(axis=0).tolist(), "std": values.std(axis=0).tolist(), "count": [len(values)]}


def image_stats(frames: np.ndarray) -> dict[str, list]:
    """Per-channel statistics of frames (T, H, W, C) scaled to [0, 1], shaped (C, 1, 1) as LeRobot
    keeps them; `count` is the number of frames."""
    pixels = frames.reshape(-1, frames.shape[-1]) / 255.0
    per_channel = stats(pixels)
    return {key: ([[[v]] for v in values] if key != "count" else [len(frames)]) for key, values in per_channel.items()}


def merged(episodes: list[dict[str, list]]) -> dict[str, list]:
    """One feature's statistics over several episodes' (counts weigh the means; the spread within
    and between episodes makes the variance)."""
    counts = np.array([e["count"][0] for e in episodes], dtype=np.float64)
    means = np.array([e["mean"] for e in episodes], dtype=np.float64)
    variances = np.array([e["std"] for e in episodes], dtype=np.float64) ** 2
    weights = (counts / counts.sum()).reshape(-1, *([1] * (means.ndim - 1)))
    mean = (weights * means).sum(axis=0)
    variance = (weights * (variances + (means - mean) ** 2)).sum(axis=0)
    return {"min": np.min([e["min"] for e in episodes], axis=0).tolist(),
            "max": np.max([e["max"] for e in episodes], axis=0).tolist(),
            "mean": mean.tolist(), "std": np.sqrt(variance).tolist(), "count": [int(counts.sum())]}

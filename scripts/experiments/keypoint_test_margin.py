"""How far inside its bound does tests/baselines/test_training.py's keypoint-head test land?

It trains each of the test's six variants on the test's own tiny dataset for a few seeds and prints
the head's error as a share of the mean offset's (the test asserts < 0.5). A test whose margin
depends on the seed fails on a machine whose last bits differ; this is how its step count was
chosen (60 steps: 0.42-0.83 over three seeds, 150 steps: 0.10-0.34 over two).

    python scripts/experiments/keypoint_test_margin.py --steps 150 --seeds 2
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from vla_bench.baselines.checkpoint import load_checkpoint
from vla_bench.baselines.data import load_demonstrations
from vla_bench.baselines.layers import normalize_images
from vla_bench.baselines.train import train
from vla_bench.data.collect import collect

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "baselines"))
from test_training import TINY, _config  # noqa: E402  (the test's own model sizes and training settings)

VARIANTS = [("rt1", "readout", {}), ("bcz", "readout", {}), ("rt1", "frame", {}), ("bcz", "frame", {}),
            ("bcz", "frame", {"pooling": "spatial_softmax"}), ("rt1", "frame", {"coordinates": True})]


def error_shares(model, dataset: Path) -> dict[str, float]:
    """Per domain: the head's mean keypoint error over the mean offset's, as the test computes them."""
    demos = load_demonstrations(dataset, model.config, processes=1)
    shares = {}
    for index, domain in enumerate(model.config.domains):
        frames = (demos.has_keypoints & (demos.domain == index)).nonzero().flatten()
        batch = demos.window(frames, model.config.history, model.config.chunk)
        with torch.no_grad():
            features = model.encode_window(normalize_images(batch["images"]), batch["language"])
            readouts = model.decide(features, batch["proprio"], batch["language"], batch["domain"])
            error = model.keypoint_error_cm(readouts, features, batch["keypoints"], batch["has_keypoints"],
                                            batch["domain"]).item()
        truth = batch["keypoints"].unflatten(-1, (-1, 3))
        shares[domain] = error / (100 * (truth - truth.mean(0)).norm(dim=-1).mean().item())
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    dataset = collect("train", root / "ds", episodes_per_task=1, tasks=["PickUp", "CloseDrawer", "GoToObject"],
                      seed=5, progress=False)  # the test's fixture
    for name, source, extra in VARIANTS:
        for seed in range(args.seeds):
            overrides = TINY[name] | {"keypoint_weight": 1.0, "keypoint_input": source} | extra
            config = replace(_config(name, dataset, root / "k.safetensors"), model_overrides=overrides,
                             seed=seed, steps=args.steps)
            shares = error_shares(load_checkpoint(train(config, progress=False))[1], dataset)
            print(name, source, extra or "", f"seed {seed}", "  ".join(f"{d} {s:.2f}" for d, s in shares.items()),
                  flush=True)


if __name__ == "__main__":
    main()

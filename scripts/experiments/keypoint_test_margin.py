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

from vla_bench.baselines.checkpoint import load_checkpoint
from vla_bench.baselines.data import load_demonstrations
from vla_bench.baselines.train import train
from vla_bench.data.collect import collect

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout, for its tests package
from tests.baselines.measures import keypoint_error_shares  # noqa: E402  (what the test asserts on)
from tests.baselines.test_training import KEYPOINT_HEADS, TINY, _config  # noqa: E402  (its variants and settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    dataset = collect("train", root / "ds", episodes_per_task=1, tasks=["PickUp", "CloseDrawer", "GoToObject"],
                      seed=5, progress=False)  # the test's fixture
    for name, source, extra in KEYPOINT_HEADS:
        for seed in range(args.seeds):
            overrides = TINY[name] | {"keypoint_weight": 1.0, "keypoint_input": source} | extra
            config = replace(_config(name, dataset, root / "k.safetensors"), model_overrides=overrides,
                             seed=seed, steps=args.steps)
            trained = load_checkpoint(train(config, progress=False))[1]
            shares = keypoint_error_shares(trained, load_demonstrations(dataset, trained.config, processes=1))
            print(name, source, extra or "", f"seed {seed}", "  ".join(f"{d} {s:.2f}" for d, s in shares.items()),
                  flush=True)


if __name__ == "__main__":
    main()

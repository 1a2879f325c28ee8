"""Does a trained baseline's representation hold where the object is? A linear probe (ridge
regression) from the model's features to the demonstrations' keypoint offsets (where the task's
keypoints lie relative to the hand, `vla_bench.keypoints`), fitted on some episodes and scored on
held-out ones, in centimetres, beside two references: the mean offset, and a probe from the
proprio alone (which knows where the hand is but not the object).

If the probe from the image features is no better than the proprio one, the encoder does not
carry the object's position and the keypoint head (`--config keypoint_weight=W`) is the lever;
if it is much better, the position is there and the decision does not use it.

    vla-bench collect --split train --tasks PickUp --episodes-per-task 80 --seed 2 --action-noise 0.05 \\
        --lossless --out DEMOS
    python scripts/experiments/keypoint_probe.py --checkpoint CKPT --data DEMOS [--held-out 0.25]

CPU only; a minute or two for 80 PickUp episodes on two cores.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from vla_bench.baselines.checkpoint import load_checkpoint
from vla_bench.baselines.data import load_demonstrations
from vla_bench.baselines.layers import normalize_images


@torch.no_grad()
def features(model, demos, frames: torch.Tensor, batch: int = 64) -> dict[str, np.ndarray]:
    """Per frame: the pooled image features of the latest frame and the decision's readout, and
    what the model's keypoint head predicts (None for a model trained without one)."""
    pooled, readouts, head = [], [], []
    for chunk in frames.split(batch):
        window = demos.window(chunk, model.config.history, model.config.chunk)
        encoded = model.encode_window(normalize_images(window["images"]), window["language"])
        pooled.append(encoded[:, -1].flatten(1).float())
        readout = model.decide(encoded, window["proprio"], window["language"], window["domain"])
        readouts.append(readout[:, -1].float())
        if hasattr(model, "keypoint_head"):
            head.append(model.keypoints(readout, encoded, window["domain"]))
    found = {"image features": torch.cat(pooled).numpy(), "decision readout": torch.cat(readouts).numpy()}
    return found, (torch.cat(head).numpy() if head else None)


def ridge_predictions(x: np.ndarray, y: np.ndarray, train: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """Predictions for every frame of a ridge regression fitted on the `train` frames, its
    strength chosen on a fifth of the training episodes held aside (never on the scored ones)."""
    mean, std = x[train].mean(0), x[train].std(0) + 1e-6
    a = np.c_[(x - mean) / std, np.ones(len(x))]
    inner = np.isin(episodes, np.unique(episodes[train])[::5]) & train

    def fit(rows: np.ndarray, alpha: float) -> np.ndarray:
        return np.linalg.solve(a[rows].T @ a[rows] + alpha * np.eye(a.shape[1]), a[rows].T @ y[rows])

    alpha = min(ALPHAS, key=lambda al: distance_cm(a[inner] @ fit(train & ~inner, al), y[inner]))
    return a @ fit(train, alpha)


ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)


def distance_cm(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(100 * np.linalg.norm((predicted - truth).reshape(len(truth), -1, 3), axis=-1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True, help="a folder `vla-bench collect` wrote (manipulation)")
    parser.add_argument("--held-out", type=float, default=0.25, help="fraction of episodes scored")
    args = parser.parse_args()
    torch.set_num_threads(2)
    _, model, _ = load_checkpoint(args.checkpoint, "cpu")
    demos = load_demonstrations(args.data, model.config)
    frames = demos.has_keypoints.nonzero().flatten()
    if not len(frames):
        raise SystemExit(f"{args.data} records no keypoints: collect it with this version")
    y = demos.keypoints[frames].numpy()
    episodes = demos.episode[frames].numpy()
    held = np.random.default_rng(0).permutation(np.unique(episodes))[: max(1, round(args.held_out * len(np.unique(episodes))))]
    test = np.isin(episodes, held)
    train = ~test
    first = (frames == demos.episode_start[frames]).numpy()  # the hand at home: only the images know
    print(f"{len(frames)} frames, {len(np.unique(episodes))} episodes; scored: {test.sum()} held-out frames, "
          f"{(test & first).sum()} of them an episode's first")
    print(f"{'':32s} {'all':>7s} {'first':>8s}  (cm, mean keypoint distance)")

    def report(name: str, predicted: np.ndarray) -> None:
        print(f"{name:32s} {distance_cm(predicted[test], y[test]):7.1f} {distance_cm(predicted[test & first], y[test & first]):8.1f}")

    report("mean offset", np.broadcast_to(y[train].mean(0), y.shape))
    proprio = demos.proprio[frames].numpy()
    report("proprio probe", ridge_predictions(proprio, y, train, episodes))
    found, predicted = features(model, demos, frames)
    if predicted is not None:  # trained to predict them: no probe needed
        report("keypoint head", predicted)
    found["image features + proprio"] = np.c_[found["image features"], proprio]
    for name, x in found.items():
        report(f"{name} probe ({x.shape[1]})", ridge_predictions(x, y, train, episodes))


if __name__ == "__main__":
    main()

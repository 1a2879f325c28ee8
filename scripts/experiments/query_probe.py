"""Do rt2's and palme's action queries carry what the image tokens know? Both read each action
dimension from its own query's final state in SmolLM2. palme's first moves barely depend on where
the object is, though its keypoint head finds the object (experiments.md, section 21).

On the first `--first-steps` frames of each demonstration, where the hand is still near home and
only the images say which way to go, this fits ridge regressions to the expert's first action (x,
y, z). Each one is fitted on three quarters of the episodes and scored on the rest. It compares:

- the model's own head on that dimension's query state (a linear map, trained);
- a probe on the same query state;
- a probe on all of the first step's query states;
- a probe on the image tokens the language model reads.

The slope is the share of the expert's move that is predicted; r is the correlation. If the image
tokens predict the move and the query states do not, the language model does not carry it to the
queries. If the query states predict it and the head does not, the head is what fails.

    python scripts/experiments/query_probe.py --data DEMOS --checkpoint CKPT [CKPT ...]

DEMOS: PickUp demonstrations with keypoints (as for first_frame_grounding.py). CPU, about two
minutes per checkpoint for 80 episodes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from vla_bench.baselines.checkpoint import load_checkpoint
from vla_bench.baselines.data import load_demonstrations
from vla_bench.baselines.layers import normalize_images
from vla_bench.baselines.multimodal.modeling import QUERIES_PER_STEP

ALPHAS = (1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6)


@torch.no_grad()
def readouts(model, demos, frames: torch.Tensor) -> dict[str, np.ndarray]:
    """Per frame: the first chunk step's query states, the image tokens, the head's decoded first
    action and the expert's."""
    found: dict[str, list[torch.Tensor]] = {"queries": [], "images": [], "head": [], "expert": []}
    for chunk in frames.split(32):
        window = demos.window(chunk, model.config.history, model.config.chunk)
        encoded = model.encode_window(normalize_images(window["images"]), window["language"])
        readout = model.decide(encoded, window["proprio"], window["language"], window["domain"])
        found["queries"].append(readout[:, -1].unflatten(-1, (-1, model.width))[:, :QUERIES_PER_STEP])
        found["images"].append(encoded[:, -1].flatten(1))
        head = model.heads["manipulation"](readout)[:, -1, 0].float()
        if head.dim() == 3:  # binned (rt2): the argmax bin's value, as the policy decodes it
            head = head.argmax(-1).float() / (head.shape[-1] - 1) * 2 - 1
        found["head"].append(head)
        found["expert"].append(window["targets"][:, -1, 0])  # the newest frame's first chunk step
    return {name: torch.cat(parts).float().numpy() for name, parts in found.items()}


def ridge(x: np.ndarray, y: np.ndarray, train: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """Predictions for every frame of a ridge regression fitted on the `train` frames (in its dual
    form: the features may outnumber the frames), its strength chosen on a fifth of the training
    episodes held aside."""
    mean, std = x[train].mean(0), x[train].std(0) + 1e-6
    a = np.c_[(x - mean) / std, np.ones(len(x))]
    inner = np.isin(episodes, np.unique(episodes[train])[::5]) & train

    def fit(rows: np.ndarray, alpha: float) -> np.ndarray:
        gram = a[rows] @ a[rows].T
        return a[rows].T @ np.linalg.solve(gram + alpha * np.eye(len(gram)), y[rows])

    alpha = min(ALPHAS, key=lambda al: float(((a[inner] @ fit(train & ~inner, al) - y[inner]) ** 2).mean()))
    return a @ fit(train, alpha)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="PickUp demonstrations (`vla-bench collect --lossless`)")
    parser.add_argument("--checkpoint", nargs="+", required=True, help="rt2 or palme checkpoints")
    parser.add_argument("--first-steps", type=int, default=6, help="frames from each episode's start")
    args = parser.parse_args()
    torch.set_num_threads(2)
    for checkpoint in args.checkpoint:
        _, model, _ = load_checkpoint(checkpoint, "cpu")
        model.eval()
        demos = load_demonstrations(args.data, model.config)
        frames = ((torch.arange(len(demos.actions)) - demos.episode_start) < args.first_steps).nonzero().flatten()
        found = readouts(model, demos, frames)
        episodes = demos.episode[frames].numpy()
        held = np.random.default_rng(0).permutation(np.unique(episodes))[: len(np.unique(episodes)) // 4]
        test = np.isin(episodes, held)
        print(f"{Path(checkpoint).name}: {len(frames)} frames of {len(np.unique(episodes))} episodes, "
              f"{test.sum()} scored")
        print(f"  {'':4s} {'expert std':>10s} {'head':>17s} {'its query':>17s} {'all queries':>17s} "
              f"{'image tokens':>17s}   (slope, r)")
        for dim, axis in enumerate("xyz"):
            expert = found["expert"][:, dim]
            predictions = [found["head"][:, dim]] + [
                ridge(x, expert, ~test, episodes) for x in (found["queries"][:, dim],
                                                           found["queries"].reshape(len(frames), -1),
                                                           found["images"])]
            cells = []
            for predicted in predictions:
                slope = np.polyfit(expert[test], predicted[test], 1)[0]
                cells.append(f"{slope:+.2f}, {np.corrcoef(expert[test], predicted[test])[0, 1]:+.2f}")
            print(f"  {axis:4s} {expert[test].std():10.3f} " + " ".join(f"{c:>17s}" for c in cells))


if __name__ == "__main__":
    main()

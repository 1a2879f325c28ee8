"""At an episode's first frame, does a keypoint head point at the object the instruction names,
at another object on the table, or between them? The hand is at home there, so only the pixels
can say where the named object is. Each demonstration's scene is rebuilt from its seed (the
collection's episodes are drawn again from the split, the seed and the count), and the head's
guess for the grasp point (hand + predicted offset) is compared with every object in it: in
scenes where the named object is alone the miss measures localisation only; where there are
others, whether the guess is nearest the named one measures grounding too.

    vla-bench collect --split train --tasks PickUp --episodes-per-task 80 --seed 2 --action-noise 0.05 \\
        --lossless --out DEMOS
    python scripts/experiments/first_frame_grounding.py --data DEMOS --seed 2 --episodes 80 --checkpoint CKPT [CKPT ...]

For PickUp demonstrations (the first keypoint is the object's grasp point) of a checkpoint
trained with `--config keypoint_weight=W`; CPU, a minute for 80 episodes.
"""
from __future__ import annotations

import argparse
import glob

import gymnasium as gym
import numpy as np
import pandas as pd
import torch

import vla_bench  # noqa: F401  registers the tasks
from vla_bench.baselines.checkpoint import load_checkpoint
from vla_bench.baselines.data import load_demonstrations
from vla_bench.baselines.layers import normalize_images
from vla_bench.splits import committed_seeds, generate_manifest

TASK = "PickUp"


@torch.no_grad()
def first_frame_guesses(checkpoint: str, data: str) -> np.ndarray:
    """The head's grasp-point offset (episodes, 3) at each demonstration's first frame."""
    _, model, _ = load_checkpoint(checkpoint, "cpu")
    demos = load_demonstrations(data, model.config)
    window = demos.window(demos.episode_start.unique(), model.config.history, model.config.chunk)
    features = model.encode_window(normalize_images(window["images"]), window["language"])
    readouts = model.decide(features, window["proprio"], window["language"], window["domain"])
    return model.keypoints(readouts, features, window["domain"]).numpy()[:, :3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a folder `vla-bench collect --tasks PickUp` wrote")
    parser.add_argument("--seed", type=int, required=True, help="the --seed it was collected with")
    parser.add_argument("--episodes", type=int, required=True, help="its --episodes-per-task")
    parser.add_argument("--checkpoint", nargs="+", required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    manifest = generate_manifest("train", args.episodes, seed=args.seed, tasks=[TASK], exclude_seeds=committed_seeds())
    specs = {episode.seed: episode for episode in manifest.episodes}
    files = sorted(glob.glob(f"{args.data}/manipulation/meta/episodes/*/*.parquet"))
    if not files:
        parser.error(f"--data {args.data}: no manipulation dataset there (the folder `vla-bench collect --out` "
                     "named holds manipulation/meta/episodes/)")
    seeds = pd.concat(map(pd.read_parquet, files)).sort_values("episode_index")["vla_bench/seed"].tolist()
    env = gym.make(f"vla_bench/{TASK}-v0", observations=("instruction", "proprio"))
    for checkpoint in args.checkpoint:
        offsets = first_frame_guesses(checkpoint, args.data)
        alone, crowded = [], []  # the miss (cm, xy) where the named object is alone; (miss, named nearest, chance)
        for seed, offset in zip(seeds, offsets):
            env.reset(seed=int(seed), options={"episode": specs[int(seed)]})
            scene = env.unwrapped
            guess = scene.ee_pos + offset
            distance = {role: 100 * float(np.linalg.norm((scene.object_pos(role) - guess)[:2]))
                        for role in scene.layout.objects}
            if len(distance) == 1:
                alone.append(distance["target"])
            else:
                crowded.append((distance["target"], min(distance, key=distance.get) == "target", 1 / len(distance)))
        named = sum(nearest for _, nearest, _ in crowded)
        print(f"{checkpoint}: named object alone on the table ({len(alone)} scenes): missed by {np.median(alone):.1f} cm "
              f"(xy, median); among others ({len(crowded)} scenes): the guess is nearest the named one in {named} "
              f"({named / max(len(crowded), 1):.0%}; one object picked at random: "
              f"{np.mean([chance for _, _, chance in crowded]):.0%}), missing it by "
              f"{np.median([m for m, _, _ in crowded]):.1f} cm")
    env.close()


if __name__ == "__main__":
    main()

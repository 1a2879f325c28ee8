"""Run by the tests in LeRobot's own environment: load a dataset with LeRobot's LeRobotDataset from a
local root (no Hub) and save what it gives, frame by frame, for the suite's side to check."""
import sys

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset

root, out = sys.argv[1], sys.argv[2]
dataset = LeRobotDataset("local/vla-bench", root=root, video_backend="pyav")
items = [dataset[i] for i in range(len(dataset))]
arrays = {"task": np.array([item["task"] for item in items]),
          "total_episodes": np.array(dataset.meta.total_episodes), "fps": np.array(dataset.fps)}
for key in ("observation.state", "action", "episode_index", "frame_index", "timestamp", "next.done"):
    arrays[key] = np.stack([item[key].numpy() for item in items])
for key in dataset.meta.camera_keys:  # float (3, H, W) in [0, 1] -> uint8 (H, W, 3)
    arrays[key] = np.stack([(item[key].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for item in items])
np.savez(out, **arrays)

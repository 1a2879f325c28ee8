import gymnasium as gym
import pytest

from vla_bench.data.collect import record_demonstration
from vla_bench.data.lerobot import LeRobotWriter
from vla_bench.splits import generate_manifest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Three oracle demonstrations (two tasks, so two instructions) as a LeRobot dataset."""
    root = tmp_path_factory.mktemp("demos") / "ds"
    manifest = generate_manifest("train", 2, seed=5, tasks=["PickUp", "CloseDrawer"])
    writer = LeRobotWriter(root, fps=10)
    for episode in [*manifest.for_task("PickUp"), manifest.for_task("CloseDrawer")[0]]:
        env = gym.make(f"vla_bench/{episode.task}-v0")
        writer.add(record_demonstration(env, episode))
        env.close()
    writer.close()
    return root

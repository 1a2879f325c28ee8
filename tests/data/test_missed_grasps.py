"""`collect --missed-grasps`: demonstrations whose expert misses its first grasp on purpose and
recovers, the one behaviour clean demonstrations never show."""
import gymnasium as gym
import numpy as np
import pytest

from vla_bench.cli import main
from vla_bench.data.collect import record_demonstration
from vla_bench.splits import generate_manifest


def _closings(demo) -> int:
    gripper = demo.action[:, 6]
    return int(np.sum((gripper[1:] < 0) & (gripper[:-1] > 0)))


@pytest.mark.parametrize("task", ["PickUp", "Stack"])
def test_a_rehearsed_miss_closes_on_nothing_then_grasps_again_and_succeeds(task):
    env = gym.make(f"vla_bench/{task}-v0", image_size=64)
    for episode in generate_manifest("train", 2, seed=11, tasks=[task]).episodes:
        clean = record_demonstration(env, episode)
        missed = record_demonstration(env, episode, missed_grasps=1.0)
        assert (_closings(clean), _closings(missed)) == (1, 2) and clean.success and missed.success
        # the fingers' opening (proprio 7) a few steps after the first closing: on air, against the object
        opening = [demo.state[int(np.argmax(demo.action[:, 6] < 0)) + 5, 7] for demo in (missed, clean)]
        assert opening[0] < 0.002 < 0.01 < opening[1], opening
        assert len(missed.action) > len(clean.action)
    env.close()


def test_episodes_drawn_not_to_miss_are_the_clean_demonstrations():
    """The miss is drawn from its own stream of the episode's seed, not from the DART noise's: an
    episode not drawn to miss is exactly its clean demonstration, noise included."""
    env = gym.make("vla_bench/PickUp-v0", image_size=64)
    closings = []
    for episode in generate_manifest("train", 6, seed=11, tasks=["PickUp"]).episodes:
        clean = record_demonstration(env, episode, action_noise=0.05)
        some = record_demonstration(env, episode, action_noise=0.05, missed_grasps=0.5)
        closings.append(_closings(some))
        assert _closings(some) == 2 or np.array_equal(some.action, clean.action)
    assert sorted(set(closings)) == [1, 2], closings  # both kinds among these six
    env.close()


def test_missed_grasps_must_be_a_fraction(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["collect", "--tasks", "PickUp", "--missed-grasps", "1.5", "--out", str(tmp_path / "d")])
    assert exit_.value.code == 2 and "between 0 and 1" in capsys.readouterr().err

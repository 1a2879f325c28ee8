"""Profiles map our observations and actions onto a server's, as data."""
import json

import numpy as np
import pytest

from vla_bench.errors import UnknownName, UsageError
from vla_bench.serving.profiles import builtin_profiles, load_profile


def _observation():
    quat = [np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)]  # a quarter turn about z
    proprio = np.array([0.4, 0.1, 0.3, *quat, 0.06, *np.zeros(7)], np.float32)
    return {"rgb": np.zeros((128, 128, 3), np.uint8), "wrist_rgb": np.full((128, 128, 3), 7, np.uint8),
            "proprio": proprio, "instruction": "pick up the red cube", "episode_id": "train/PickUp/000"}


def test_the_suite_profile_sends_our_observation_unchanged():
    message = load_profile("vla_bench").encode(_observation())
    assert set(message) == {"rgb", "wrist_rgb", "proprio", "instruction"}


def test_the_libero_profile_builds_openpis_libero_keys():
    message = load_profile("libero").encode(_observation())
    assert set(message) == {"observation/image", "observation/wrist_image", "observation/state", "prompt"}
    assert message["observation/image"].shape == (224, 224, 3) and message["observation/wrist_image"][0, 0, 0] == 7
    np.testing.assert_allclose(message["observation/state"], [0.4, 0.1, 0.3, 0, 0, np.pi / 2, 0.03, -0.03], atol=1e-5)
    assert message["prompt"] == "pick up the red cube"


def test_the_libero_profile_converts_actions_to_our_units():
    theirs = np.array([[0.2, 0.0, -0.4, 0.1, 0.0, 0.6, 1.0]] * 3)  # gripper +1: close, rotations in 0.5 rad
    ours = load_profile("libero").decode({"actions": theirs}, _observation())
    assert ours.shape == (3, 7)
    np.testing.assert_allclose(ours[0], [0.2, 0.0, -0.4, 0.2, 0.0, 1.0, -1.0])  # 1.2 clipped to the space


def test_a_discrete_reply_is_an_int():
    assert load_profile("vla_bench").decode({"actions": np.asarray(2)}, _observation()) == 2


def test_unknown_profiles_list_the_valid_ones():
    with pytest.raises(UnknownName, match="libero, vla_bench"):
        load_profile("droid")
    assert {"libero", "vla_bench"} <= set(builtin_profiles())


def test_a_profile_file_is_checked(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"domains": ["manipulation"], "observation": [
        {"key": "state", "source": "proprio", "parts": [{"start": 0, "stop": 3, "convert": "to_euler"}]}]}))
    with pytest.raises(UsageError, match="unknown conversions"):
        load_profile(str(path))
    path.write_text(json.dumps({"observation": []}))
    with pytest.raises(UsageError, match="not valid"):
        load_profile(str(path))


def test_wide_absolute_pose_chunks_become_our_deltas(tmp_path):
    """A model whose actions are padded to 32 numbers and are absolute world-frame poses."""
    path = tmp_path / "absolute.json"
    path.write_text(json.dumps({"domains": ["manipulation"], "observation": [],
                                "action": {"take": [0, 7], "frame": "absolute"}}))
    observation = _observation()  # hand at (0.4, 0.1, 0.3), turned a quarter about z
    quarter = [0.0, 0.0, np.pi / 2]
    targets = np.zeros((2, 32))
    targets[0, :7] = [0.425, 0.1, 0.3, *quarter, 1.0]  # half a step in x, same orientation, open
    targets[1, :7] = [0.425, 0.1, 0.2, 0.0, 0.0, np.pi / 2 + 0.125, -1.0]  # then down 10 cm, turn 0.125 rad, close
    ours = load_profile(str(path)).decode({"actions": targets}, observation)
    np.testing.assert_allclose(ours, [[0.5, 0, 0, 0, 0, 0, 1], [0, 0, -1, 0, 0, 0.5, -1]], atol=1e-6)


def test_a_profile_declares_what_it_reads_so_unfit_tasks_are_left_out():
    from vla_bench.runner.runner import unfit_tasks
    from vla_bench.serving.client import remote_policy_class

    assert set(unfit_tasks(remote_policy_class("libero"), ["PickUp", "GoToObject"])) == {"GoToObject"}
    assert unfit_tasks(remote_policy_class("vla_bench"), ["PickUp", "GoToObject"]) == {}

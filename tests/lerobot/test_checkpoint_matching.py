"""`--policy lerobot:DIR` reads what the checkpoint declares before any model loads: a feature the
suite cannot give, an action of neither space, or a missing LeRobot is a clear error (exit 2)."""
import json

import pytest

from vla_bench.cli import main
from vla_bench.policy.lerobot_checkpoint import lerobot_policy_class

FRONT = {"type": "VISUAL", "shape": [3, 128, 128]}
STATE = {"type": "STATE", "shape": [15]}


def _checkpoint(tmp_path, inputs, action_size=7):
    config = {"type": "act", "input_features": inputs,
              "output_features": {"action": {"type": "ACTION", "shape": [action_size]}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    return f"lerobot:{tmp_path}"


def _run(reference, *extra):
    return main(["run", "--policy", reference, "--split", "train", "--tasks", "PickUp", "--episodes-per-task", "1",
                 "--no-progress", *extra])


def test_features_the_suite_cannot_give_are_named(tmp_path, capsys):
    reference = _checkpoint(tmp_path, {"observation.images.top": FRONT, "observation.state": STATE,
                                       "observation.environment_state": {"type": "ENV", "shape": [10]}})
    assert _run(reference, "--out", str(tmp_path / "run")) == 2
    error = capsys.readouterr().err
    assert "observation.images.top (VISUAL" in error and "observation.environment_state (ENV" in error
    assert "observation.state" not in error.split("cannot give:")[1].split(".")[0]
    assert "--policy-arg cameras=" in error


def test_a_camera_map_matches_other_names(tmp_path, monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())  # as if LeRobot were installed
    reference = _checkpoint(tmp_path, {"observation.images.top": FRONT, "observation.images.wrist": FRONT,
                                       "observation.state": STATE, "observation.images.empty_camera_0": FRONT})
    cls = lerobot_policy_class(reference, {"observation.images.top": "rgb"})
    assert cls.sources == {"observation.images.top": "rgb", "observation.images.wrist": "wrist_rgb",
                           "observation.state": "proprio"}
    assert cls.observation_keys == ("rgb", "wrist_rgb", "proprio") and cls.action_mode == "ee_delta"
    for moves in (4, 1):  # scores over the moves, as collect stores them, or an index
        navigation = lerobot_policy_class(_checkpoint(tmp_path, {"observation.images.depth": FRONT}, moves))
        assert navigation.action_mode == "discrete" and navigation.observation_keys == ("depth",)


@pytest.mark.parametrize("action_size", [2, 5])
def test_an_action_of_neither_space_is_refused(tmp_path, capsys, action_size):
    assert _run(_checkpoint(tmp_path, {"observation.state": STATE}, action_size), "--out", str(tmp_path / "r")) == 2
    assert f"an action of shape [{action_size}] matches neither action space" in capsys.readouterr().err


def test_a_folder_without_a_checkpoint_is_refused(tmp_path, capsys):
    assert _run(f"lerobot:{tmp_path / 'missing'}", "--out", str(tmp_path / "r")) == 2
    assert "holds no config.json" in capsys.readouterr().err


def test_without_lerobot_installed_the_error_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    assert _run(_checkpoint(tmp_path, {"observation.state": STATE}), "--out", str(tmp_path / "r")) == 2
    assert "pip install 'vla-bench[lerobot]'" in capsys.readouterr().err

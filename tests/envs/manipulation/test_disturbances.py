"""Tabletop disturbances move what they say in the physics, when they say, and the oracle
re-plans around them."""
from dataclasses import replace

import numpy as np
import pytest

from tests.conftest import MANIPULATION_TASKS
from vla_bench.splits.manifest import generate_manifest, load_manifest
from vla_bench.task.disturbance import DisturbanceSpec

TRAIN = load_manifest("train")


def _disturbed(task: str, kind: str, magnitude: float, after_step: int = 1, index: int = 0):
    """The committed train episode `index` of `task` with a disturbance of our choosing."""
    episode = TRAIN.for_task(task)[index]
    spec = DisturbanceSpec(kind, magnitude, direction=0.5, after_step=after_step)
    return replace(episode, factors={**episode.factors, "disturbance": spec.to_dict()}, perturbed=("disturbance",))


def _run_expert(env, episode, until=lambda info: False):
    """Steps the oracle through `episode`; the infos of every step (stops early when `until`)."""
    env.reset(options={"episode": episode})
    expert, infos, done = env.unwrapped.make_expert(), [], False
    while not done:
        _, _, terminated, truncated, info = env.step(expert.act())
        infos.append(info)
        done = terminated or truncated or until(info)
    return infos


def test_the_target_slides_away_when_the_hand_reaches_it(make_env):
    env = make_env("PickUp")
    infos = _run_expert(env, _disturbed("PickUp", "displace_target", 0.08), until=lambda info: info["disturbance"])
    event = infos[-1]["disturbance"]
    assert all(info["disturbance"] is None for info in infos[:-1]) and event["step"] == len(infos)
    before, after = np.array(event["before"]), np.array(event["after"])
    assert np.linalg.norm(after[:2] - before[:2]) == pytest.approx(0.08, abs=1e-3) and after[2] == pytest.approx(before[2])
    assert np.allclose(env.unwrapped.object_pos("target"), after, atol=2e-3)  # the physics holds it there
    assert np.linalg.norm(env.unwrapped.ee_pos - before) < 0.075  # it fired as the hand came close


def test_a_held_object_is_knocked_out_onto_the_table(make_env):
    env = make_env("PickUp")
    infos = _run_expert(env, _disturbed("PickUp", "knock_out", 0.1), until=lambda info: info["disturbance"])
    base = env.unwrapped
    before, after = np.array(infos[-1]["disturbance"]["before"]), np.array(infos[-1]["disturbance"]["after"])
    assert np.linalg.norm(after[:2] - before[:2]) == pytest.approx(0.1, abs=1e-3) and after[2] < before[2] - 0.02
    assert not base.is_grasped("target")
    # the step's info describes the world after the knock, not the grasp the step began with
    assert infos[-1]["success_conditions"] == base.success_conditions() and infos[-1]["progress"] == base.progress()
    assert not infos[-1]["success_conditions"]["grasped"]
    for _ in range(5):  # the hand does not follow yet: the object rests on the table
        env.step(np.array([0, 0, 0, 0, 0, 0, -1.0]))
    assert base.object_bottom("target") < 0.005 and not base.is_grasped("target")


def test_a_push_moves_the_hand_off_its_course(make_env):
    env = make_env("OpenDrawer")
    quiet = _run_expert(env, TRAIN.for_task("OpenDrawer")[0])
    pushed = _run_expert(env, _disturbed("OpenDrawer", "push_arm", 40.0, after_step=3))
    event = next(info["disturbance"] for info in pushed[6:] if info["disturbance"])
    assert event["moved"] == "hand" and event["step"] == 3
    drift = np.linalg.norm(np.array(event["after"]) - np.array(event["before"]))
    assert drift > 0.02  # 40 N for 0.3 s carries the servoed hand centimetres off
    assert quiet[-1]["is_success"] and pushed[-1]["is_success"]  # and the expert still opens the drawer


def test_a_disturbed_episode_is_its_train_twin_plus_the_disturbance():
    disturbed = generate_manifest("novel_disturbances", 3, tasks=["PickUp", "GoToObject"])
    train = generate_manifest("train", 3, tasks=["PickUp", "GoToObject"])
    for d, t in zip(disturbed.episodes, train.episodes):
        assert d.seed == t.seed and d.instruction == t.instruction
        assert {k: v for k, v in d.factors.items() if k != "disturbance"} == dict(t.factors)
        assert d.perturbed == ("disturbance",) and d.factors["disturbance"]["kind"]


@pytest.mark.slow
def test_the_oracle_recovers_on_fresh_episodes(make_env):
    solved = []
    for task in MANIPULATION_TASKS:
        env = make_env(task)
        for episode in generate_manifest("novel_disturbances", 4, seed=11, tasks=[task]).episodes:
            infos = _run_expert(env, episode)
            solved.append((episode.episode_id, episode.factors["disturbance"]["kind"], infos[-1]["is_success"]))
    assert sum(s for _, _, s in solved) >= 0.95 * len(solved), [s for s in solved if not s[2]]


@pytest.mark.parametrize("scheduled", [{"kind": "knock_out", "magnitude": 0.1, "direction": 0.0, "after_step": 1},
                                       {"kind": "push_arm"}, "not a disturbance"])
def test_a_disturbance_the_task_cannot_have_is_an_invalid_episode(make_env, scheduled):
    from vla_bench.task.base import InvalidEpisode

    episode = TRAIN.for_task("OpenDrawer")[0]  # a drawer has no object to knock out of the hand
    with pytest.raises(InvalidEpisode, match="disturbance|magnitude|string"):
        make_env("OpenDrawer").reset(options={"episode": replace(episode, factors={**episode.factors,
                                                                                   "disturbance": scheduled})})

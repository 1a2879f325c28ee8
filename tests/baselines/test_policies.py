"""The shipped baselines load from the package and run episodes on the CPU with no network."""
import socket

import gymnasium as gym
import numpy as np
import pytest
import torch
from safetensors import safe_open

from vla_bench.baselines import shipped_checkpoint
from vla_bench.baselines.heads import BinnedHead
from vla_bench.errors import UsageError
from vla_bench.policy.base import TaskInfo
from vla_bench.policy.loader import PolicySpec, registered_policies
from vla_bench.runner.episode import run_episode
from vla_bench.splits import load_manifest


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access during a test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", ["rt1", "bcz"])
def test_shipped_checkpoints_are_small_safetensors(name):
    path = shipped_checkpoint(name)
    assert path.stat().st_size <= 25 * 2**20
    with safe_open(str(path), framework="pt") as handle:  # no pickle involved
        assert handle.metadata()["model"] == name


@pytest.mark.parametrize("task", ["CloseDrawer", "GoToObject"])
@pytest.mark.parametrize("name", ["rt1", "bcz"])
def test_baselines_run_an_episode_offline_on_cpu_in_both_domains(name, task, no_network):
    episode = load_manifest("train").for_task(task)[0]
    env = gym.make(f"vla_bench/{task}-v0")
    policy = PolicySpec(name).build()
    assert not policy.batches()  # on the CPU each worker runs its own copy
    record = run_episode(env, policy, episode, "train", name)
    assert record.error == "" and record.steps > 0 and record.latency_ms_mean > 0
    assert name in registered_policies()


def _info(env, episode):
    return TaskInfo(episode.task, "manipulation", env.observation_space, env.action_space, 60,
                    episode_id=episode.episode_id)


@pytest.mark.parametrize("name", ["rt1", "bcz"])
def test_act_batch_keeps_episodes_apart_and_matches_act(name):
    """Three episodes served together in one batch (padded to four, as on a GPU) get what each
    gets alone."""
    episodes = load_manifest("train").for_task("PickUp")[:3]
    envs = [gym.make("vla_bench/PickUp-v0") for _ in episodes]
    policy = PolicySpec(name).build()
    policy.pad_batches = True
    observations = []
    for env, episode in zip(envs, episodes):
        observations.append(env.reset(options={"episode": episode})[0])
        policy.reset(observations[-1]["instruction"], _info(env, episode))
    batched = []
    for _ in range(4):
        actions = policy.act_batch([{**o, "episode_id": e.episode_id} for o, e in zip(observations, episodes)])
        batched.append(actions)
        observations = [env.step(a)[0] for env, a in zip(envs, actions)]

    for k, (env, episode) in enumerate(zip(envs, episodes)):
        obs = env.reset(options={"episode": episode})[0]
        policy.reset(obs["instruction"], _info(env, episode))
        for step in range(4):
            action = policy.act(obs)
            assert np.allclose(action, batched[step][k], atol=2 / 255)
            obs = env.step(batched[step][k])[0]


def test_inference_imports_no_training_code():
    import subprocess
    import sys

    code = ("import sys; from vla_bench.policy.loader import PolicySpec; PolicySpec('bcz').build(); "
            "print(sorted(m for m in sys.modules if m in ('vla_bench.baselines.train', 'vla_bench.baselines.data', "
            "'transformers', 'sentence_transformers', 'triton')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_binned_head_decodes_its_most_probable_bin_or_its_mean():
    """A spike of 0.3 at the centre bin (the expert's exact zeros) outvotes 0.7 spread over the
    negative bins under argmax; the mean follows the mass."""
    head = BinnedHead(width=8, chunk=1, action_dim=1, bins=256)
    distribution = torch.zeros(1, 256)
    distribution[0, 127] = 0.3
    distribution[0, 20:90] = 0.7 / 70
    assert abs(head.decode(distribution).item()) < 0.01
    assert head.expected(distribution).item() < -0.4


def test_decode_mean_changes_a_binned_policys_actions_and_is_refused_where_nothing_is_binned():
    episode = load_manifest("train").for_task("PickUp")[0]
    env = gym.make("vla_bench/PickUp-v0")
    actions = {}
    for decode in ("argmax", "mean"):
        policy = PolicySpec("rt1", {"decode": decode}).build()
        obs = env.reset(options={"episode": episode})[0]
        policy.reset(obs["instruction"], _info(env, episode))
        actions[decode] = policy.act(obs)
    assert actions["mean"].shape == (7,) and np.all(np.abs(actions["mean"]) <= 1)
    assert not np.allclose(actions["mean"], actions["argmax"])
    with pytest.raises(UsageError, match="not binned"):
        PolicySpec("bcz", {"decode": "mean"}).build()
    with pytest.raises(UsageError, match="argmax or mean"):
        PolicySpec("rt1", {"decode": "median"}).build()

"""Run by the tests in LeRobot's own environment: a checkpoint served to two episodes at once
through `act_batch` gives each the actions its own `select_action` gives it alone, for the
checkpoint's chunk queue and for ACT's temporal ensemble. Prints the largest difference per mode."""
import json
import shutil
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

import vla_bench  # noqa: F401  registers the tasks
from vla_bench.policy.base import TaskInfo
from vla_bench.policy.lerobot_checkpoint import lerobot_policy_class

checkpoint, task, work, steps = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
ensembling = work / "ensembling"  # the same weights, configured to ensemble and act every step
shutil.copytree(checkpoint, ensembling)
config = json.loads((checkpoint / "config.json").read_text())
(ensembling / "config.json").write_text(json.dumps(config | {"temporal_ensemble_coeff": 0.01, "n_action_steps": 1}))

differences = {}
for mode, directory in (("queue", checkpoint), ("ensemble", ensembling)):
    policy_class = lerobot_policy_class(f"lerobot:{directory}")
    alone = [policy_class(), policy_class()]  # one per episode, through act (select_action)
    together = policy_class()  # both episodes, through act_batch
    envs = [gym.make(f"vla_bench/{task}-v0") for _ in range(2)]
    observations = []
    for seed, (env, policy) in enumerate(zip(envs, alone)):
        observation, _ = env.reset(seed=seed)
        task_info = TaskInfo(task, env.unwrapped.domain, env.observation_space, env.action_space,
                             env.spec.max_episode_steps, episode_seed=seed, episode_id=f"episode-{seed}")
        policy.reset(observation["instruction"], task_info)
        together.reset(observation["instruction"], task_info)
        observations.append(observation | {"episode_id": task_info.episode_id})
    largest = 0.0
    for _ in range(steps):
        batched = together.act_batch(observations)
        actions = [policy.act(observation) for policy, observation in zip(alone, observations)]
        largest = max(largest, *(float(np.max(np.abs(np.subtract(a, b)))) for a, b in zip(actions, batched)))
        observations = [env.step(action)[0] | {"episode_id": observation["episode_id"]}
                        for env, action, observation in zip(envs, actions, observations)]
    differences[mode] = largest
print(json.dumps(differences))

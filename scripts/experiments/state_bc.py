"""Is the learned baselines' PickUp failure in seeing or in imitating? Behaviour cloning from
privileged state (the hand's proprio and the objects' positions, no image) on the baselines' own
recipe: fresh train-split demonstrations with DART noise 0.2, a chunk-free MLP with bcz's smooth L1
loss, evaluated closed-loop on the committed train episodes of the task. If it succeeds where the
image policies do not, localising the object from pixels is what they miss; if it fails too, the
imitation itself (the labels, the loss, compounding errors) is.

    python scripts/experiments/state_bc.py [--task PickUp] [--demos 300] [--steps 4000] [--history K]

`--history K` feeds the last K steps' features (the first repeated at an episode's start): what a
memoryless policy cannot know, such as where the expert's plan stands, may show in how the state moved.

CPU only, minutes on two cores; no images are rendered (the envs produce proprio alone).
"""
from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import vla_bench  # noqa: F401  (registers the tasks)
from vla_bench.data.collect import perturbed_action
from vla_bench.metrics import wilson_interval
from vla_bench.splits import committed_seeds, generate_manifest, load_manifest
from vla_bench.task.registry import task_entry


def features(env: gym.Env, proprio: np.ndarray) -> np.ndarray:
    """The hand's proprio, and each object the task manipulates (its `task_roles`: the target, a
    receptacle, a base; not the distractors) by its position and its position relative to the hand."""
    base = env.unwrapped
    objects = [base.object_pos(role) for role in sorted(base.task_roles)]
    return np.concatenate([proprio, *objects, *(p - base.ee_pos for p in objects)]).astype(np.float32)


def stacked(history: list[np.ndarray], k: int) -> np.ndarray:
    """The last `k` feature vectors of an episode, oldest first, the first repeated before the start."""
    recent = history[-k:]
    return np.concatenate([recent[0]] * (k - len(recent)) + recent)


def demonstrations(task: str, count: int, seed: int, noise: float,
                   history: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """The expert's (features, action) pairs over `count` fresh episodes, noise on what is executed."""
    env = gym.make(task_entry(task).env_id, observations=("proprio",))
    manifest = generate_manifest("train", count, seed=seed, tasks=[task], exclude_seeds=committed_seeds())
    xs, ys, kept = [], [], 0
    for episode in manifest.episodes:
        obs, _ = env.reset(options={"episode": episode})
        expert, rng = env.unwrapped.make_expert(), np.random.default_rng([episode.seed, 7])
        steps, seen, done, info = [], [], False, {}
        while not done:
            action = expert.act()
            seen.append(features(env, obs["proprio"]))
            steps.append((stacked(seen, history), action))
            obs, _, terminated, truncated, info = env.step(perturbed_action(action, "manipulation", noise, rng))
            done = terminated or truncated
        if info["is_success"]:  # the baselines' recipe keeps successful demonstrations only
            kept += 1
            xs += [x for x, _ in steps]
            ys += [y for _, y in steps]
    env.close()
    return np.stack(xs), np.stack(ys).astype(np.float32), kept


def train(x: np.ndarray, y: np.ndarray, steps: int) -> nn.Module:
    torch.manual_seed(0)
    mean, std = x.mean(0), x.std(0) + 1e-3
    model = nn.Sequential(nn.Linear(x.shape[1], 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, y.shape[1]))
    inputs, targets = torch.from_numpy((x - mean) / std), torch.from_numpy(y)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for step in range(steps):
        batch = torch.randint(len(inputs), (256,))
        loss = F.smooth_l1_loss(model(inputs[batch]), targets[batch], beta=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 1000 == 0 or step == steps - 1:
            print(f"  step {step}: loss {loss.item():.4f}")
    model.eval()
    model.mean, model.std = torch.from_numpy(mean), torch.from_numpy(std)
    return model


@torch.no_grad()
def evaluate(model: nn.Module, task: str, history: int = 1) -> tuple[int, int, dict[str, int]]:
    """Closed loop on the committed train episodes of `task`: successes, episodes, and how many
    episodes ended with each success condition holding."""
    env = gym.make(task_entry(task).env_id, observations=("proprio",))
    episodes = load_manifest("train").for_task(task)
    successes, held = 0, {}
    for episode in episodes:
        obs, _ = env.reset(options={"episode": episode})
        seen, done, info = [], False, {}
        while not done:
            seen.append(features(env, obs["proprio"]))
            x = (torch.from_numpy(stacked(seen, history)) - model.mean) / model.std
            action = model(x[None])[0].clamp(-1, 1).numpy()
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        successes += bool(info["is_success"])
        for name, holds in info["success_conditions"].items():
            held[name] = held.get(name, 0) + bool(holds)
    env.close()
    return successes, len(episodes), held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="PickUp")
    parser.add_argument("--demos", type=int, default=300)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--noise", type=float, default=0.2, help="DART noise (default: the baselines' 0.2)")
    parser.add_argument("--history", type=int, default=1, help="steps of features the policy reads (default: 1)")
    args = parser.parse_args()
    if args.history < 1:
        parser.error("--history must be at least 1")
    torch.set_num_threads(1)
    start = time.perf_counter()
    x, y, kept = demonstrations(args.task, args.demos, args.seed, args.noise, args.history)
    print(f"{kept} of {args.demos} demonstrations kept, {len(x)} steps ({time.perf_counter() - start:.0f} s)")
    model = train(x, y, args.steps)
    successes, episodes, held = evaluate(model, args.task, args.history)
    low, high = wilson_interval(successes, episodes)
    print(f"state BC on {args.task}: {successes}/{episodes} = {successes / episodes:.3f} [{low:.3f}, {high:.3f}]; "
          f"conditions holding at the end: {held} ({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()

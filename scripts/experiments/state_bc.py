"""Is the learned baselines' PickUp failure in seeing or in imitating? Behaviour cloning from
privileged state (the hand's proprio and the objects' positions, no image) on the baselines' own
recipe: fresh train-split demonstrations with DART noise 0.2, a chunk-free MLP with bcz's smooth L1
loss, evaluated closed-loop on the committed train episodes of the task. If it succeeds where the
image policies do not, localising the object from pixels is what they miss; if it fails too, the
imitation itself (the labels, the loss, compounding errors) is.

    python scripts/experiments/state_bc.py [--task PickUp] [--demos 300] [--steps 4000] [--history K]

`--history K` feeds the last K steps' features (the first repeated at an episode's start): what a
memoryless policy cannot know, such as where the expert's plan stands, may show in how the state moved.

`--scene` asks whether the instruction can say which object to take: `named` (default) gives the
task's own objects, so nothing needs grounding; `words` gives every object on the table (ordered
by x, so no slot gives the target away) with its colour and kind, and the instruction's sentence
embedding (all-MiniLM-L6-v2, as the baselines read it); `blank` the same without the instruction.
`--attend` reads those through `ObjectAttention` instead of one MLP.

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
from vla_bench.assets import catalog, colors
from vla_bench.baselines.language import SentenceEncoder
from vla_bench.data.collect import perturbed_action
from vla_bench.metrics import wilson_interval
from vla_bench.splits import committed_seeds, generate_manifest, load_manifest
from vla_bench.task.registry import task_entry

SCENES = ("named", "words", "blank")
MAX_OBJECTS = 3  # slots for `words` and `blank`: the train split draws up to 2 distractors (assets/factors.json)
KINDS, COLORS = sorted(catalog()), sorted(colors())
PROPRIO = 15
SLOT = 7 + len(KINDS) + len(COLORS)  # present, position, position relative to the hand, kind, colour
WORDS = 384
ENCODER = SentenceEncoder()


def features(env: gym.Env, proprio: np.ndarray, scene: str = "named") -> np.ndarray:
    """The hand's proprio, and for `named` each object the task manipulates (its `task_roles`: the
    target, a receptacle, a base; not the distractors) by its position and its position relative
    to the hand; for `words` and `blank` see the module's docstring."""
    base = env.unwrapped
    if scene == "named":
        objects = [base.object_pos(role) for role in sorted(base.task_roles)]
        return np.concatenate([proprio, *objects, *(p - base.ee_pos for p in objects)]).astype(np.float32)
    slots = np.zeros((MAX_OBJECTS, SLOT), np.float32)
    for slot, role in enumerate(slot_roles(env)):
        placed, position = base.layout.objects[role], base.object_pos(role)
        slots[slot, :7] = [1.0, *position, *(position - base.ee_pos)]
        slots[slot, 7 + KINDS.index(placed.kind)] = 1.0
        slots[slot, 7 + len(KINDS) + COLORS.index(placed.color)] = 1.0
    words = ENCODER.encode([base.episode.instruction])[0] if scene == "words" else np.zeros(WORDS, np.float32)
    return np.concatenate([proprio, slots.ravel(), words]).astype(np.float32)


def slot_roles(env: gym.Env) -> list[str]:
    """Every object on the table in the order of `features`' slots: by x, so no slot is the target's."""
    base = env.unwrapped
    return sorted(base.layout.objects, key=lambda role: base.object_pos(role)[0])


def target_slot(env: gym.Env) -> int:
    """The slot of `features` that holds the object the task names (for --select-weight)."""
    return slot_roles(env).index("target")


def stacked(history: list[np.ndarray], k: int) -> np.ndarray:
    """The last `k` feature vectors of an episode, oldest first, the first repeated before the start."""
    recent = history[-k:]
    return np.concatenate([recent[0]] * (k - len(recent)) + recent)


def demonstrations(task: str, count: int, seed: int, noise: float, history: int = 1,
                   scene: str = "named") -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The expert's (features, action, named object's slot) triples over `count` fresh episodes,
    noise on what is executed (the slot is -1 for `named`)."""
    env = gym.make(task_entry(task).env_id, observations=("proprio",))
    manifest = generate_manifest("train", count, seed=seed, tasks=[task], exclude_seeds=committed_seeds())
    xs, ys, labels, kept = [], [], [], 0
    for episode in manifest.episodes:
        obs, _ = env.reset(options={"episode": episode})
        expert, rng = env.unwrapped.make_expert(), np.random.default_rng([episode.seed, 7])
        steps, seen, done, info = [], [], False, {}
        while not done:
            action = expert.act()
            seen.append(features(env, obs["proprio"], scene))
            steps.append((stacked(seen, history), action, -1 if scene == "named" else target_slot(env)))
            obs, _, terminated, truncated, info = env.step(perturbed_action(action, "manipulation", noise, rng))
            done = terminated or truncated
        if info["is_success"]:  # the baselines' recipe keeps successful demonstrations only
            kept += 1
            xs += [x for x, _, _ in steps]
            ys += [y for _, y, _ in steps]
            labels += [label for _, _, label in steps]
    env.close()
    return np.stack(xs), np.stack(ys).astype(np.float32), np.array(labels), kept


def mlp(inputs: int, outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, outputs))


class ObjectAttention(nn.Module):
    """For `--attend`: at each step of the window, a score per object slot from the slot and the
    words, a softmax over the slots present, and the slots' weighted sum (the object the words
    select) beside the proprio; the action MLP reads that for every step. The selection an MLP
    over all slots at once would have to learn as a product of inputs is built in."""

    def __init__(self, history: int, actions: int) -> None:
        super().__init__()
        self.history = history
        self.score = nn.Sequential(nn.Linear(SLOT + WORDS, 128), nn.ReLU(), nn.Linear(128, 1))
        self.act = mlp(history * (PROPRIO + SLOT), actions)

    def forward(self, x: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> the action, and the last step's slot scores (B, MAX_OBJECTS)."""
        steps = x.unflatten(1, (self.history, -1))  # (B, K, step features)
        proprio, slots = steps[..., :PROPRIO], steps[..., PROPRIO:-WORDS].unflatten(-1, (MAX_OBJECTS, SLOT))
        words = steps[..., None, -WORDS:].expand(-1, -1, MAX_OBJECTS, -1)
        scores = self.score(torch.cat([slots, words], -1))[..., 0].masked_fill(~present, -1e9)
        chosen = (scores.softmax(-1)[..., None] * slots).sum(-2)  # (B, K, slot)
        return self.act(torch.cat([proprio, chosen], -1).flatten(1)), scores[:, -1]


def slots_present(raw: torch.Tensor, history: int) -> torch.Tensor:
    """Which object slots hold an object, per step (B, K, MAX_OBJECTS), from the unnormalized features."""
    return raw.unflatten(1, (history, -1))[..., PROPRIO:-WORDS].unflatten(-1, (MAX_OBJECTS, SLOT))[..., 0] > 0.5


class Policy(nn.Module):
    """Normalizes the features as in training, then the MLP or the object attention."""

    def __init__(self, model: nn.Module, mean: np.ndarray, std: np.ndarray, history: int) -> None:
        super().__init__()
        self.model, self.history = model, history
        self.mean, self.std = torch.from_numpy(mean), torch.from_numpy(std)

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return self.act_and_select(raw)[0]

    def act_and_select(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The action, and the object attention's slot scores at the last step (None for the MLP)."""
        x = (raw - self.mean) / self.std
        if isinstance(self.model, ObjectAttention):
            return self.model(x, slots_present(raw, self.history))
        return self.model(x), None


def train(x: np.ndarray, y: np.ndarray, steps: int, history: int = 1, attend: bool = False,
          labels: np.ndarray | None = None, select_weight: float = 0.0) -> nn.Module:
    """`select_weight`: with --attend, a cross-entropy on the slot scores towards the named
    object's slot (`labels`) beside the action loss: the selection supervised directly."""
    torch.manual_seed(0)
    mean, std = x.mean(0), x.std(0) + 1e-3
    model = Policy(ObjectAttention(history, y.shape[1]) if attend else mlp(x.shape[1], y.shape[1]), mean, std, history)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    slots = torch.from_numpy(labels) if labels is not None else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for step in range(steps):
        batch = torch.randint(len(inputs), (256,))
        actions, scores = model.act_and_select(inputs[batch])
        loss = F.smooth_l1_loss(actions, targets[batch], beta=0.1)
        if select_weight and scores is not None:
            loss = loss + select_weight * F.cross_entropy(scores, slots[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 1000 == 0 or step == steps - 1:
            print(f"  step {step}: loss {loss.item():.4f}")
    model.eval()
    return model


@torch.no_grad()
def evaluate(model: nn.Module, task: str, history: int = 1, scene: str = "named") -> tuple[int, int, dict[str, int]]:
    """Closed loop on the committed train episodes of `task`: successes, episodes, and how many
    episodes ended with each success condition holding."""
    env = gym.make(task_entry(task).env_id, observations=("proprio",))
    episodes = load_manifest("train").for_task(task)
    successes, held = 0, {}
    for episode in episodes:
        obs, _ = env.reset(options={"episode": episode})
        seen, done, info = [], False, {}
        while not done:
            seen.append(features(env, obs["proprio"], scene))
            action = model(torch.from_numpy(stacked(seen, history))[None])[0].clamp(-1, 1).numpy()
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
    parser.add_argument("--scene", choices=SCENES, default="named", help="what it knows of the objects (see above)")
    parser.add_argument("--select-weight", type=float, default=0.0, help="with --attend: supervise the "
                        "selection of the named object with this weight (default: 0, the action loss alone)")
    parser.add_argument("--attend", action="store_true", help="with --scene words|blank: select an object by "
                        "attention over the slots (ObjectAttention) instead of one MLP over them all")
    args = parser.parse_args()
    if args.history < 1:
        parser.error("--history must be at least 1")
    if args.attend and args.scene == "named":
        parser.error("--attend selects among every object: use it with --scene words or blank")
    torch.set_num_threads(1)
    start = time.perf_counter()
    x, y, labels, kept = demonstrations(args.task, args.demos, args.seed, args.noise, args.history, args.scene)
    print(f"{kept} of {args.demos} demonstrations kept, {len(x)} steps ({time.perf_counter() - start:.0f} s)")
    model = train(x, y, args.steps, args.history, args.attend, labels, args.select_weight)
    successes, episodes, held = evaluate(model, args.task, args.history, args.scene)
    low, high = wilson_interval(successes, episodes)
    print(f"state BC on {args.task}: {successes}/{episodes} = {successes / episodes:.3f} [{low:.3f}, {high:.3f}]; "
          f"conditions holding at the end: {held} ({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()

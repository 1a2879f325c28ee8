"""`vla-bench collect`: the oracle's demonstrations, written as LeRobot datasets (one per domain).

Demonstrations are drawn fresh from a split's definition (`--seed`), never from the committed
manifests: an episode whose environment seed any committed split holds is skipped, so no
training frame is an evaluation episode. DART-style noise (Laskey et al. 2017) perturbs what is
executed while the recorded action stays the expert's, so policies see how to recover.

    OUT/manipulation/   the tabletop tasks' dataset (front and wrist cameras, 7-D actions)
    OUT/navigation/     the navigation tasks' dataset (colour and depth cameras, discrete actions)

Cameras are stored as MP4 video, as LeRobot records them, or with `lossless` as PNG images.

The folder appears only when collection finished: it is written as OUT.partial and renamed.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import gymnasium as gym
import numpy as np

from vla_bench.data.actions import MOVES, stored_action
from vla_bench.data.cameras import CAMERA_FEATURES, DOMAIN_CAMERAS, camera_frame
from vla_bench.data.lerobot import EncodedFrames, Episode, LeRobotWriter
from vla_bench.errors import UsageError
from vla_bench.policy import OraclePolicy
from vla_bench.runner.episode import check_action, task_info
from vla_bench.runner.executors import LocalProcessExecutor
from vla_bench.runner.worker import EnvCache, Outbox, ignore_ctrl_c, serve_jobs
from vla_bench.specs import EpisodeSpec
from vla_bench.splits import committed_seeds, generate_manifest
from vla_bench.task.registry import task_entry

log = logging.getLogger(__name__)
DEFAULT_SEED = 1  # seed 0 draws the committed manifests' episodes, which `committed_seeds` excludes anyway


@dataclass(frozen=True)
class DomainSchema:
    """What a domain's dataset holds besides its cameras."""

    robot_type: str
    state_names: tuple[str, ...]
    action_names: tuple[str, ...]
    keypoint_names: tuple[str, ...] = ()  # the env's keypoint_offsets(), recorded for training-time supervision


SCHEMAS = {
    "manipulation": DomainSchema("franka_panda", ("ee_x", "ee_y", "ee_z", "ee_qw", "ee_qx", "ee_qy", "ee_qz",
                                                  "gripper", *(f"joint_{i}" for i in range(1, 8))),
                                 ("dx", "dy", "dz", "drx", "dry", "drz", "gripper"),
                                 tuple(f"keypoint{k}_{axis}" for k in (1, 2) for axis in ("dx", "dy", "dz"))),
    # the discrete move, one-hot (vla_bench.data.actions)
    "navigation": DomainSchema("differential_drive_base", ("x", "y", "cos_yaw", "sin_yaw"), MOVES,
                               tuple(f"{goal}_{axis}" for goal in ("goal", "last_goal")
                                     for axis in ("forward", "left", "up"))),
}


def record_demonstration(env: gym.Env, episode: EpisodeSpec, action_noise: float = 0.0,
                         on_step: Callable[[int], None] | None = None, missed_grasps: float = 0.0) -> Episode:
    """Run the oracle on one episode and keep every observation it acted on, with its action.

    `action_noise` perturbs what is executed, never what is recorded (DART): in manipulation it is
    the standard deviation of Gaussian noise on the hand's translation (rotation noise spoils
    grasps, so not there); in navigation the probability that a random move or turn replaces the
    expert's move (never its stop). The noise is seeded by the episode, so datasets reproduce.
    `missed_grasps`: the fraction of manipulation episodes whose expert closes its first grasp
    beside the object and recovers (lifts, opens, grasps again), drawn per episode from its seed:
    behaviour cloning otherwise never sees a second attempt.
    `on_step(k)` is called after each step (a worker's heartbeat)."""
    noise = np.random.default_rng([episode.seed, 7])
    policy = OraclePolicy(missed_grasp=missed_grasps > 0 and np.random.default_rng([episode.seed, 8]).random() < missed_grasps)
    domain = env.unwrapped.domain
    cameras = DOMAIN_CAMERAS[domain]
    obs, _ = env.reset(seed=episode.seed, options={"episode": episode})
    policy.reset(obs["instruction"], task_info(env, episode, privileged=True))
    if on_step is not None:
        on_step(0)  # the scene is built and the expert has planned
    frames: dict[str, list[np.ndarray]] = {camera: [] for camera in cameras}
    states, actions, keypoint_rows = [], [], []
    records_keypoints = bool(SCHEMAS[domain].keypoint_names)
    done, info = False, {}
    while not done:
        action = check_action(policy.act(obs), env.action_space)
        for camera in cameras:
            frames[camera].append(camera_frame(obs, camera))
        states.append(obs["proprio"])
        if records_keypoints:
            keypoint_rows.append(env.unwrapped.keypoint_offsets())
        actions.append(stored_action(action, domain))
        obs, _, terminated, truncated, info = env.step(perturbed_action(action, domain, action_noise, noise))
        done = terminated or truncated
        if on_step is not None:
            on_step(len(actions))
    return Episode(
        instruction=episode.instruction,
        images={CAMERA_FEATURES[c]: np.stack(v) for c, v in frames.items()},
        state=np.stack(states), action=np.stack(actions), success=bool(info["is_success"]),
        keypoints=np.stack(keypoint_rows) if records_keypoints else None,
        meta={"task": episode.task, "episode_id": episode.episode_id, "seed": episode.seed},
    )


def perturbed_action(action, domain: str, action_noise: float, noise: np.random.Generator):
    """What is executed of the expert's `action` under DART noise (see record_demonstration)."""
    if action_noise <= 0:
        return action
    if domain == "navigation":
        if action != 0 and noise.random() < action_noise:
            return int(noise.integers(1, 4))
        return action
    executed = np.array(action, dtype=np.float64)
    executed[:3] = np.clip(executed[:3] + noise.normal(0.0, action_noise, 3), -1.0, 1.0)
    return executed


def collect(split: str, out: Path, episodes_per_task: int = 50, tasks: list[str] | None = None,
            only_successful: bool = True, seed: int = DEFAULT_SEED, workers: int = 1, action_noise: float = 0.0,
            progress: bool = True, step_timeout: float = 30.0, lossless: bool = False, missed_grasps: float = 0.0) -> Path:
    """Record the oracle on `episodes_per_task` fresh episodes of every task of `split` (or of
    `tasks`); failed demonstrations are left out unless `only_successful` is False. `workers`
    processes record (the runner's, with its hang protection: a worker silent for longer than
    `step_timeout` in a step, or one that dies, is replaced and its episode left out with a
    warning). Episodes are written in order, so the datasets are the same for any `workers`.
    `lossless` stores frames as PNG images instead of MP4 video; `action_noise` and `missed_grasps`
    as in `record_demonstration`."""
    from tqdm import tqdm

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} already exists and is not empty; choose another --out")
    manifest = generate_manifest(split, episodes_per_task, seed=seed, tasks=tasks, exclude_seeds=committed_seeds())
    chosen = list(manifest.episodes)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # a previous, interrupted collection
    writers: dict[str, LeRobotWriter] = {}
    pool = DemonstrationExecutor(min(workers, len(chosen)) or 1, step_timeout)
    try:
        recorded = tqdm(pool.run([(i, e, action_noise, missed_grasps, not lossless) for i, e in enumerate(chosen)]), total=len(chosen),
                        unit="episode", disable=not progress, desc=f"collect {split}")
        for episode, outcome in zip(chosen, in_order(recorded, [e.episode_id for e in chosen])):
            if isinstance(outcome, LostDemonstration):
                log.warning("episode %s left out of the dataset: %s", episode.episode_id, outcome.error)
                continue
            demo, frames = outcome
            if demo.success or not only_successful:
                _writer(writers, partial, episode.task, not lossless).add(demo, frames)
        for writer in writers.values():
            writer.close()
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        pool.close()
    partial.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.rmdir()  # empty, checked above
    partial.rename(out)
    return out


def in_order(outcomes: Iterable[Any], order: list[str]) -> Iterator[Any]:
    """Outcomes that arrive in any order (each naming its episode id), yielded in `order`."""
    waiting: dict[str, Any] = {}
    position = 0
    for outcome in outcomes:
        waiting[_episode_of(outcome)] = outcome
        while position < len(order) and order[position] in waiting:
            yield waiting.pop(order[position])
            position += 1


def _episode_of(outcome: Any) -> str:
    return outcome.episode_id if isinstance(outcome, LostDemonstration) else outcome[0].meta["episode_id"]


def _writer(writers: dict[str, LeRobotWriter], root: Path, task: str, as_video: bool) -> LeRobotWriter:
    entry = task_entry(task)
    if entry.domain not in writers:
        schema = SCHEMAS[entry.domain]
        writers[entry.domain] = LeRobotWriter(root / entry.domain, fps=task_fps(task), robot_type=schema.robot_type,
                                              state_names=schema.state_names, action_names=schema.action_names,
                                              keypoint_names=schema.keypoint_names,
                                              video=as_video)
    return writers[entry.domain]


def task_fps(task: str) -> int:
    """A task's control rate, the frame rate of its dataset and videos."""
    probe = gym.make(task_entry(task).env_id)
    try:
        fps = probe.unwrapped.metadata["render_fps"]
    finally:
        probe.close()
    if fps != int(fps):
        raise UsageError(f"task {task} runs at {fps} steps per second; LeRobot datasets need a whole number")
    return int(fps)


def dataset_roots(path: Path) -> list[Path]:
    """The LeRobot datasets under a `collect` output folder (or the folder itself if it is one)."""
    path = Path(path)
    if (path / "meta" / "info.json").exists():
        return [path]
    return [path / domain for domain in SCHEMAS if (path / domain / "meta" / "info.json").exists()]


@dataclass(frozen=True)
class LostDemonstration:
    """An episode whose recording hung or whose worker died: left out of the dataset."""

    episode_id: str
    error: str


def _demonstration_worker(worker_id: int, config: None, jobs, results) -> None:
    ignore_ctrl_c()
    serve_jobs(worker_id, jobs, Outbox(results), EnvCache(lambda task: gym.make(task_entry(task).env_id)), _record)


class DemonstrationExecutor(LocalProcessExecutor):
    """The runner's pool of worker processes, recording demonstrations instead of evaluating."""

    target = staticmethod(_demonstration_worker)

    def __init__(self, size: int, step_timeout: float) -> None:
        super().__init__(None, size, step_timeout)

    def _fail(self, episode: EpisodeSpec, error: str) -> LostDemonstration:
        return LostDemonstration(episode.episode_id, error)


def _record(envs: EnvCache, job: tuple[int, EpisodeSpec, float, float, bool], on_step) -> tuple[Episode, EncodedFrames]:
    """A demonstration with its frames already encoded (and not sent back raw)."""
    _, episode, action_noise, missed_grasps, as_video = job
    env = envs.get(episode.task)
    demo = record_demonstration(env, episode, action_noise, on_step, missed_grasps)
    # whole: task_fps stops the collection when the domain's writer is made otherwise
    fps = int(env.unwrapped.metadata["render_fps"])
    return replace(demo, images={}), EncodedFrames.of(demo, fps, as_video)

"""Runs one episode of a policy and turns it into an EpisodeRecord (one line of episodes.jsonl).

Faults end only their episode: a policy that raises or returns NaN, Inf or a wrong shape, and a
simulator that goes unstable, are recorded in `error` with the episode counted as failed.
"""
from __future__ import annotations

import ctypes
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from vla_bench.metrics import spl
from vla_bench.policy.base import Policy, TaskInfo
from vla_bench.runner.realtime import control_period, held_action, late_steps, start_late
from vla_bench.runner.resources import peak_gpu_mb, peak_resident_mb, resident_memory_mb
from vla_bench.specs import EpisodeSpec
from vla_bench.task.base import SimulationUnstable
from vla_bench.task.registry import task_entry

RECORD_FIELDS = ("policy", "split", "task", "episode_id", "seed", "instruction", "success", "steps", "collisions",
                 "path_length", "shortest_path_length", "spl", "interventions", "latency_ms_mean", "error", "wall_s")
# fields measured in wall-clock time or memory: in synchronous runs, the only ones that differ between two runs
# of the same episodes (in real time, latency decides what happens, so the outcome may differ too)
TIMING_FIELDS = ("latency_ms_mean", "latency_ms_p50", "latency_ms_p95", "wall_s", "worker_rss_mb",
                 "policy_peak_rss_mb", "policy_gpu_mb", "env_reset_s", "env_step_s", "env_observation_s")


@dataclass
class EpisodeRecord:
    """One line of episodes.jsonl. The fields up to `wall_s` are the contract of README's "Result
    files"; fields added since follow them (added, never renamed)."""

    policy: str
    split: str
    task: str
    episode_id: str
    seed: int
    instruction: str
    success: bool = False
    steps: int = 0
    collisions: int = 0
    path_length: float = 0.0
    shortest_path_length: float = 0.0
    spl: float = 0.0
    interventions: int = 0
    latency_ms_mean: float = 0.0
    error: str = ""
    wall_s: float = 0.0
    latency_ms_p95: float = 0.0
    intervention_reasons: dict[str, int] = field(default_factory=dict)
    perturbed: list[str] = field(default_factory=list)
    progress: float = 0.0
    sim_seconds: float = 0.0  # simulated time the episode lasted (videos play at steps / sim_seconds)
    success_conditions: dict[str, bool] = field(default_factory=dict)  # the predicate's parts at the end
    worker_rss_mb: float = 0.0  # resident memory of the process that ran the episode, at its end
    instruction_mode: str = "original"  # see vla_bench.runner.instructions
    policy_instruction: str | None = None  # what the policy read, where that was not `instruction`
    policy_calls: int = 0  # calls to act; fewer than `steps` when the policy returns action chunks
    realtime: bool = False  # simulated time ran on while the policy computed (vla-bench run --realtime)
    late_steps: int = 0  # real time: steps the robot ran on its last chunk or command while the policy computed
    latency_ms_p50: float = 0.0
    completion_s: float = 0.0  # simulated seconds to the end, waits of a robot with no command to hold included
    energy: float = 0.0  # Σ actuator torque² · dt over the episode (vla_bench.sim.effort)
    jerk: float = 0.0  # RMS jerk of the end effector (or base), m/s³
    policy_peak_rss_mb: float | None = None  # peak resident memory of the process that ran the policy (None:
    # elsewhere, a server's; or the episode failed before it ran)
    policy_gpu_mb: float | None = None  # peak GPU memory PyTorch allocated there
    disturbance: dict[str, Any] | None = None  # novel_disturbances: what happened, when (a DisturbanceEvent)
    # of wall_s, the env's own seconds (vla_bench.task.base.EnvSeconds): building the scene, moving
    # the world (controller, physics, bookkeeping), and the observations (cameras rendered); None: not timed
    env_reset_s: float | None = None
    env_step_s: float | None = None
    env_observation_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class PolicyFault(RuntimeError):
    """The policy broke the adapter contract in this episode."""


class EpisodeLost(RuntimeError):
    """The episode could not go on for a reason outside it (the process serving its policy died
    or restarted): an executor runs it again elsewhere instead of recording it."""


class EnvironmentFault(RuntimeError):
    """The episode's environment could not be built or reset (a missing asset, a corrupt spec)."""


def task_info(env: gym.Env, episode: EpisodeSpec, privileged: bool) -> TaskInfo:
    base = env.unwrapped
    entry = task_entry(base.task_name)
    return TaskInfo(entry.name, entry.domain, env.observation_space, env.action_space, entry.max_episode_steps,
                    episode_seed=episode.seed, episode_id=episode.episode_id, privileged=base if privileged else None)


def describe_value(value: Any) -> str:
    """What a policy returned, for an error message: its type and (a short form of) its value."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, np.number)) for v in value):
        kind = "floats" if any(isinstance(v, (float, np.floating)) for v in value) else "ints"
        return f"a {type(value).__name__} of {len(value)} {kind} {_short(value)}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype} {_short(value.tolist())}"
    return f"{type(value).__name__} {_short(value)}"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_action(action: Any, space: gym.Space, domain: str = "") -> np.ndarray | int:
    """The action as the env wants it, or PolicyFault saying what the policy returned and what
    the task expects."""
    who = f"{domain} expects" if domain else "the task expects"
    if isinstance(space, gym.spaces.Discrete):
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)) \
                or not space.contains(int(action)):
            raise PolicyFault(f"act returned {describe_value(action)}; {who} an int in [0, {space.n})")
        return int(action)
    expected = f"{who} shape {space.shape} in [{space.low.min():g}, {space.high.max():g}]"
    try:
        numbers = np.asarray(action)
        if numbers.dtype.kind not in "iuf":  # booleans, complex numbers, strings, objects are no action
            raise TypeError(f"dtype {numbers.dtype}")
        array = numbers.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise PolicyFault(f"act returned {describe_value(action)}; {expected}") from err
    if array.shape != space.shape:
        raise PolicyFault(f"act returned {describe_value(action)}; {expected}")
    if not np.all(np.isfinite(array)):
        raise PolicyFault(f"act returned non-finite values {array.tolist()}; {expected}")
    return array


def planned_actions(raw: Any, space: gym.Space, domain: str = "") -> list:
    """What the policy returned as a list of actions: one action, or each action of a chunk, an
    array of shape (H, *action shape) (for a discrete task, a sequence of H ints). Each is
    checked as `check_action` checks one."""
    if isinstance(space, gym.spaces.Discrete):
        is_chunk = isinstance(raw, (list, tuple, np.ndarray)) and np.ndim(raw) == 1
    else:
        is_chunk = isinstance(raw, (list, tuple, np.ndarray)) and np.ndim(raw) == len(space.shape) + 1 \
            and np.shape(raw)[1:] == space.shape
    if not is_chunk:
        return [check_action(raw, space, domain)]
    if len(raw) == 0:
        raise PolicyFault(f"act returned an empty action chunk {describe_value(raw)}")
    return [check_action(action, space, domain) for action in raw]


def release_freed_memory() -> None:
    """Hand memory freed by the last episode's scene back to the OS (glibc's malloc_trim): every
    episode builds and drops a MuJoCo model and a GL context, and without this a worker's
    resident size drifts upwards over thousands of episodes through heap fragmentation."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


RESET_ONLY_INFO = ("factors", "instruction")  # constant over an episode: a trace's header has them


def trace_entry(step: int, info: dict[str, Any], obs: dict[str, Any] | None = None) -> dict[str, Any]:
    """One step of an episode's trace: every per-step `info` value that JSON can hold (the success
    predicate's parts, `is_success`, `progress`, `sim_time`, contacts, path length, the supervisor's
    interventions, and whatever a domain adds), with the observation's `proprio` (the robot's own
    state: the end effector and gripper, or the base pose). Task-agnostic: nothing is read that
    `info` and the observation do not already carry."""
    entry: dict[str, Any] = {"step": step}
    for key, value in info.items():
        if key in RESET_ONLY_INFO:
            continue
        plain = _plain(value)
        if plain is not _SKIP:
            entry[key] = plain
    if obs is not None and "proprio" in obs:
        plain = _plain(obs["proprio"])
        if plain is not _SKIP:
            entry["proprio"] = plain
    return entry


_SKIP = object()


def _plain(value: Any, depth: int = 0) -> Any:
    """`value` as JSON (floats to 6 decimals), or _SKIP for what a trace should not hold (images,
    large arrays, objects)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return round(number, 6) if np.isfinite(number) else None
    if isinstance(value, str):
        return value if len(value) <= 200 else _SKIP
    if depth >= 3:
        return _SKIP
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), depth) if value.size <= 64 else _SKIP
    if isinstance(value, (list, tuple)):
        if len(value) > 64:
            return _SKIP
        items = [_plain(v, depth + 1) for v in value]
        return _SKIP if any(v is _SKIP for v in items) else items
    if isinstance(value, dict):
        items = {str(k): _plain(v, depth + 1) for k, v in value.items()}
        return {k: v for k, v in items.items() if v is not _SKIP}
    return _SKIP


def run_episode(env: gym.Env, policy: Policy, episode: EpisodeSpec, split: str = "", policy_name: str | None = None,
                on_step: Callable[[int], None] | None = None, frames: list | None = None,
                trace: list | None = None, instruction_mode: str = "original",
                policy_instruction: str | None = None, replan_every: int | None = None, realtime: bool = False,
                extra_latency_ms: float = 0.0) -> EpisodeRecord:
    """Reset `env` to `episode` and let `policy` act until the task ends, time runs out or a fault.

    `on_step` is called after every step (the runner's heartbeat); `frames`, if given, collects
    the front camera image of every step (for videos); `trace`, if given, collects `trace_entry`
    of every step (for `vla-bench audit`). Entry k of either is the state after k steps (0: the
    reset), so `frames[k]` shows what `trace[k]` describes. `policy_instruction`, if given,
    replaces the instruction in what the policy reads (and nowhere else). A policy that returns
    an action chunk is called again after `replan_every` of its actions (default: all of them).
    `realtime` lets simulated time run on while the policy computes (`vla_bench.runner.realtime`),
    each call taking its measured latency plus `extra_latency_ms`.
    """
    record = EpisodeRecord(policy_name or getattr(policy, "name", type(policy).__name__), split, episode.task,
                           episode.episode_id or f"{episode.task}/{episode.seed}", episode.seed,
                           episode.instruction, perturbed=list(episode.perturbed), instruction_mode=instruction_mode,
                           policy_instruction=policy_instruction, realtime=realtime)
    latencies: list[float] = []
    waited_s = 0.0  # real time: waits of a robot that had no command to hold
    info: dict[str, Any] = {}
    start = time.perf_counter()
    try:
        try:
            obs, info = env.reset(seed=episode.seed, options={"episode": episode})
        except SimulationUnstable:
            raise
        except Exception as err:  # a broken install or a corrupt episode: this episode fails, the run goes on
            raise EnvironmentFault(f"environment could not be reset: {type(err).__name__}: {err}") from err
        start_time = info.get("sim_time", 0.0)
        if trace is not None:
            trace.append(trace_entry(0, info, obs))
        try:
            shown = obs["instruction"] if policy_instruction is None else policy_instruction
            policy.reset(shown, task_info(env, episode, getattr(policy, "privileged", False)))
        except EpisodeLost:
            raise
        except Exception as err:  # the policy's own bug: recorded, the run goes on
            raise PolicyFault(f"policy reset raised {type(err).__name__}: {err}") from err
        if on_step is not None:
            on_step(0)  # the scene is built: from here on, only the policy's step time counts

        def execute(action: Any) -> bool:
            """One control step; whether the episode ended."""
            nonlocal obs, info
            if frames is not None:
                frames.append(obs["rgb"])
            obs, _, terminated, truncated, info = env.step(action)
            record.steps += 1
            record.interventions += len(info.get("interventions", ()))
            if trace is not None:
                trace.append(trace_entry(record.steps, info, obs))
            if on_step is not None:
                on_step(record.steps)
            return terminated or truncated

        space, domain = env.action_space, env.unwrapped.domain
        period = control_period(env) if realtime else 0.0
        done = False
        plan: list = []  # actions of the last chunk to execute before the next call
        rest: list = []  # the chunk's actions after those: what a real-time robot runs on while it waits
        previous = None  # the last command executed
        while not done:
            if not plan:
                tick = time.perf_counter()
                try:
                    raw = policy.act(obs if policy_instruction is None else {**obs, "instruction": policy_instruction})
                except (PolicyFault, EpisodeLost):  # already phrased (a policy served elsewhere), or not a fault
                    raise
                except Exception as err:  # the policy's own bug: recorded, the run goes on
                    raise PolicyFault(f"policy raised {type(err).__name__}: {err}") from err
                latencies.append((time.perf_counter() - tick) * 1000 + extra_latency_ms)
                record.policy_calls += 1
                chunk = planned_actions(raw, space, domain)
                if realtime:
                    late = late_steps(latencies[-1] / 1000, period)
                    for _ in range(late):
                        held = rest.pop(0) if rest else held_action(previous, space)
                        if held is None:
                            waited_s += period
                            continue
                        record.late_steps += 1
                        previous = held
                        if done := execute(held):
                            break
                    if done:
                        break
                    chunk = start_late(chunk, late)
                cut = replan_every or len(chunk)
                plan, rest = chunk[:cut], chunk[cut:]
            previous = plan.pop(0)
            done = execute(previous)
        if frames is not None:
            frames.append(obs["rgb"])
    except (PolicyFault, EnvironmentFault) as err:
        record.error = str(err)
    except SimulationUnstable as err:
        record.error = f"simulation unstable: {err}"
    record.wall_s = time.perf_counter() - start
    seconds = getattr(env.unwrapped, "seconds", None)  # a suite task's EnvSeconds
    if seconds is not None:
        record.env_reset_s, record.env_step_s = seconds.reset, seconds.step
        record.env_observation_s = seconds.observation
    record.success = bool(info.get("is_success", False)) and not record.error
    record.collisions = int(info.get("collisions", 0))
    record.path_length = float(info.get("path_length", 0.0))
    record.shortest_path_length = float(info.get("shortest_path_length", 0.0))
    record.spl = spl(record.success, record.path_length, record.shortest_path_length)
    record.progress = float(info.get("progress", 0.0))
    record.energy = float(info.get("energy", 0.0))
    record.jerk = float(info.get("jerk", 0.0))
    record.disturbance = info.get("disturbance")
    record.success_conditions = dict(info.get("success_conditions", {}))
    if "sim_time" in info:
        record.sim_seconds = float(info["sim_time"] - start_time)
    record.completion_s = record.sim_seconds + waited_s
    if latencies:
        record.latency_ms_mean = float(np.mean(latencies))
        record.latency_ms_p50 = float(np.percentile(latencies, 50))
        record.latency_ms_p95 = float(np.percentile(latencies, 95))
    release_freed_memory()
    record.worker_rss_mb = resident_memory_mb()
    if not getattr(policy, "runs_elsewhere", False):
        record.policy_peak_rss_mb, record.policy_gpu_mb = peak_resident_mb(), peak_gpu_mb()
    counts = getattr(env, "counts", None)
    if counts is not None:
        record.intervention_reasons = dict(counts)
    return record

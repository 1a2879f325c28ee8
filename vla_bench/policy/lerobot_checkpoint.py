"""`--policy lerobot:DIR`: a LeRobot `PreTrainedPolicy` checkpoint (ACT, Diffusion, SmolVLA, pi0 ...)
evaluated unchanged, with the pre- and post-processors saved beside it.

The checkpoint's `config.json` says what the policy reads and emits, so the class is made from it
before any model loads (the runner checks it against each task): every declared input feature is
matched to one of the suite's observations, and the action's size picks the action space (7:
the end-effector delta of manipulation; 4: scores over navigation's moves, as `collect` stores
them; 1: a move's index). Cameras match by the names
`vla-bench collect` gives them, or as `--policy-arg cameras='{"FEATURE": "rgb"}'` says; a feature
that matches nothing is an error that names it. Action chunks are handled as the policy's own
`select_action` handles them: in a worker, `select_action` keeps its queue (or ACT's temporal
ensemble) and is reset at each episode's start; on a GPU, one model serves every worker's
episodes through `act_batch`, which keeps that queue or ensemble per episode.
"""
from __future__ import annotations

import importlib.util
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vla_bench.data.actions import MOVES
from vla_bench.data.cameras import CAMERA_FEATURES, camera_frame
from vla_bench.errors import UnknownName
from vla_bench.policy.base import Policy, TaskInfo
from vla_bench.policy.batching import EpisodeStates

PREFIX = "lerobot:"
INSTALL_HINT = "pip install 'vla-bench[lerobot]' (LeRobot pins its own PyTorch; a virtual environment of its own " \
               "is simplest: bash scripts/lerobot_env.sh)"
# the suite's camera for each feature name a LeRobot policy may declare
CAMERA_SOURCES = {feature: camera for camera, feature in CAMERA_FEATURES.items()} | {"observation.image": "rgb"}
STATE_FEATURE = "observation.state"
# the action's size -> the action space: manipulation's end-effector delta, or navigation's move as
# scores over the moves (as `collect` stores it, one-hot) or as its index
ACTION_MODES = {7: "ee_delta", len(MOVES): "discrete", 1: "discrete"}
# policies whose select_action is predict_action_chunk followed by a queue of the chunk's first
# n_action_steps (or, for ACT, its temporal ensemble): act_batch keeps that state per episode
CHUNKING_POLICIES = ("act", "smolvla", "pi0", "pi05")


class LeRobotCheckpointError(UnknownName):
    """DIR is not a LeRobot checkpoint this suite can feed: the message says why."""


def is_lerobot(reference: str) -> bool:
    return reference.startswith(PREFIX)


def lerobot_policy_class(reference: str, cameras: dict[str, str] | None = None) -> type:
    """A subclass of LeRobotCheckpoint declaring, from DIR/config.json, the observations the
    policy reads and its action space."""
    directory = Path(reference[len(PREFIX):]).expanduser()
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise LeRobotCheckpointError(f"{directory} holds no config.json: give a LeRobot checkpoint folder (what "
                                     "lerobot-train saves as checkpoints/NNNNNN/pretrained_model)")
    config = json.loads(config_path.read_text())
    action_shape = config.get("output_features", {}).get("action", {}).get("shape", [])
    if len(action_shape) != 1 or action_shape[0] not in ACTION_MODES:
        raise LeRobotCheckpointError(f"{directory}: an action of shape {action_shape} matches neither action space "
                                     "(7: manipulation's end-effector delta; navigation's move as 4 scores over "
                                     "stop, forward, left, right, or as 1 index)")
    sources = _match_inputs(config.get("input_features", {}), cameras or {}, directory)
    if importlib.util.find_spec("lerobot") is None:
        raise LeRobotCheckpointError(f"--policy {reference} needs LeRobot, which is not installed: {INSTALL_HINT}")
    return type(f"LeRobot{config.get('type', '').upper()}", (LeRobotCheckpoint,), {
        "__doc__": LeRobotCheckpoint.__doc__, "directory": directory, "sources": sources,
        "observation_keys": tuple(dict.fromkeys(sources.values())), "action_mode": ACTION_MODES[action_shape[0]],
        "name": f"lerobot-{config.get('type', 'policy')}",
    })


def _match_inputs(features: dict[str, dict], cameras: dict[str, str], directory: Path) -> dict[str, str]:
    """Each input feature -> the observation key it is made from."""
    sources, unmatched = {}, []
    for name, feature in features.items():
        kind = feature.get("type")
        if kind == "VISUAL" and "empty_camera" in name:
            continue  # pi0's and SmolVLA's placeholders, which they pad themselves when absent
        if kind == "VISUAL" and (name in cameras or name in CAMERA_SOURCES):
            sources[name] = cameras.get(name, CAMERA_SOURCES.get(name))
        elif kind == "STATE" and name == STATE_FEATURE:
            sources[name] = "proprio"
        else:
            unmatched.append(f"{name} ({kind}, shape {feature.get('shape')})")
    if unmatched:
        raise LeRobotCheckpointError(
            f"{directory}: the policy reads features the suite cannot give: {', '.join(unmatched)}. The suite gives "
            f"cameras {', '.join(sorted(CAMERA_SOURCES))} and {STATE_FEATURE} (the proprio); map other camera names "
            "with --policy-arg cameras='{\"FEATURE\": \"rgb\"}' (rgb, wrist_rgb or depth)")
    return sources


@dataclass
class _EpisodeActions:
    """One episode's instruction and move count, and what `select_action` keeps between its
    steps: the actions still to come (the rest of a chunk), and ACT's temporal ensemble when the
    policy ensembles (used by act_batch)."""

    instruction: str
    moves: int  # navigation's number of moves (0 in manipulation)
    ensembler: Any = None
    queue: deque = field(default_factory=deque)

    def needs_chunk(self) -> bool:
        return self.ensembler is not None or not self.queue


class LeRobotCheckpoint(Policy):
    """A LeRobot checkpoint with its processors (--policy lerobot:DIR)."""

    directory: ClassVar[Path]
    sources: ClassVar[dict[str, str]]  # LeRobot input feature -> observation key

    def __init__(self, device: str = "cpu", threads: int = 1, cameras: dict[str, str] | None = None) -> None:
        # `cameras` was used when the class was made (lerobot_policy_class); it is accepted here as a --policy-arg
        import torch
        from lerobot.configs.policies import PreTrainedConfig
        from lerobot.policies.factory import get_policy_class, make_pre_post_processors

        if device == "cpu":
            torch.set_num_threads(threads)
        self.config = config = PreTrainedConfig.from_pretrained(self.directory)
        config.device = device
        self.model = get_policy_class(config.type).from_pretrained(self.directory, config=config).eval()
        self.preprocess, self.postprocess = make_pre_post_processors(
            config, pretrained_path=str(self.directory),
            preprocessor_overrides={"device_processor": {"device": device}})
        self.shapes = {name: tuple(f.shape) for name, f in config.input_features.items()}
        self.checkpoint_path = self.directory / "model.safetensors"
        self._episodes: EpisodeStates[_EpisodeActions] = EpisodeStates()

    def batches(self) -> bool:
        """On a GPU one model serves every worker's episodes (a copy per worker would not fit for a
        VLA), for the policies whose action chunking act_batch reproduces per episode; on the CPU
        each worker runs its own copy through `select_action`."""
        return (self.config.device != "cpu" and self.config.type in CHUNKING_POLICIES
                and getattr(self.config, "n_obs_steps", 1) == 1)

    def reset(self, instruction: str, task: TaskInfo) -> None:
        self.model.reset()  # empties the action queue of chunking policies
        self.preprocess.reset()
        self.postprocess.reset()
        self._episodes.start(task.episode_id, _EpisodeActions(instruction, getattr(task.action_space, "n", 0),
                                                              self._ensembler()))

    def act(self, observation: dict[str, Any]) -> np.ndarray | int:
        import torch

        if self.batches():  # one copy serves many episodes, so each one's queue is kept apart
            return self.act_batch([observation])[0]
        episode = self._episodes.last_started()
        with torch.inference_mode():
            action = self.postprocess(self.model.select_action(self.preprocess(
                self._inputs([observation], [episode.instruction]))))
        return self._action(action.reshape(-1).float().cpu().numpy(), episode.moves)

    def act_batch(self, observations: list[dict[str, Any]]) -> list[np.ndarray | int]:
        """One forward pass for the episodes that need a new chunk (every episode, for ACT's
        temporal ensemble; else those whose queue ran out), then each episode's next action, as
        its own `select_action` would have given it."""
        import torch

        states = self._episodes.of(observations)
        need = [i for i, state in enumerate(states) if state.needs_chunk()]
        with torch.inference_mode():
            if need:
                chunks = self.model.predict_action_chunk(self.preprocess(self._inputs(
                    [observations[i] for i in need], [states[i].instruction for i in need])))
                for i, chunk in zip(need, chunks):
                    state = states[i]
                    if state.ensembler is not None:
                        state.queue.append(state.ensembler.update(chunk[None])[0])
                    else:
                        state.queue.extend(chunk[: self.config.n_action_steps])
            actions = self.postprocess(torch.stack([state.queue.popleft() for state in states]))
        actions = actions.float().cpu().numpy()
        return [self._action(row, state.moves) for row, state in zip(actions, states)]

    def _ensembler(self) -> Any:
        """A fresh temporal ensemble (LeRobot's own) for a policy that ensembles, else None."""
        coefficient = getattr(self.config, "temporal_ensemble_coeff", None)
        if coefficient is None:
            return None
        from lerobot.policies.act.modeling_act import ACTTemporalEnsembler

        return ACTTemporalEnsembler(coefficient, self.config.chunk_size)

    def _inputs(self, observations: list[dict[str, Any]], instructions: list[str]) -> dict[str, Any]:
        """The policy's input features for a batch of observations, as LeRobot's datasets give them."""
        import torch

        batch: dict[str, Any] = {"task": list(instructions)}
        for name, key in self.sources.items():
            if key == "proprio":
                batch[name] = torch.as_tensor(np.stack([obs["proprio"] for obs in observations]), dtype=torch.float32)
            else:
                batch[name] = torch.cat([self._image(camera_frame(obs, key), self.shapes[name]) for obs in observations])
        return batch

    def _action(self, action: np.ndarray, moves: int) -> np.ndarray | int:
        """The policy's output as the suite's action: the 7-D delta, or the move it scores highest."""
        if self.action_mode == "discrete":
            if not np.all(np.isfinite(action)):
                raise ValueError(f"the policy's move is not finite: {action}")
            index = np.argmax(action) if len(action) > 1 else np.rint(action[0])
            return int(np.clip(index, 0, moves - 1))
        return action.astype(np.float64)

    @staticmethod
    def _image(frame: np.ndarray, shape: tuple[int, ...]):
        """(H, W, 3) uint8 -> (1, 3, h, w) float in [0, 1], as LeRobot's datasets give frames; resized
        (bilinear) where the policy was trained on another size."""
        import torch

        image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float() / 255.0
        if tuple(image.shape[-2:]) != tuple(shape[-2:]):
            image = torch.nn.functional.interpolate(image, size=tuple(shape[-2:]), mode="bilinear", align_corners=False)
        return image

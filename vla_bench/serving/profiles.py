"""Profiles: how the suite's observations and actions map onto a remote policy's, as data.

A profile (a JSON file: built-in ones live in `profiles/`, or pass a path) names, for each key
the server expects, which observation entry fills it and how (image size, pieces of the proprio
vector with a conversion each), and how the reply's actions become the suite's: the key, `take`
(the slice of each action vector to keep, for models whose actions are padded wider than 7),
`frame` (`delta`, or `absolute`: world-frame target poses, position in metres and axis-angle
orientation, turned into our deltas step by step from the current pose), and a per-dimension
`scale` from their units to ours. An empty `observation` list sends the suite's own observation
unchanged. `episode_keys` adds the `vla_bench/...` episode keys (see client.py) that
openpi's protocol lacks; servers that do not know them never see them unless asked.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vla_bench.errors import UnknownName, UsageError

PROFILE_DIR = Path(__file__).parent / "profiles"


def _quaternion_to_axis_angle(quat: np.ndarray) -> np.ndarray:
    """MuJoCo's (w, x, y, z) unit quaternion to a rotation vector (axis times angle)."""
    w, xyz = float(np.clip(quat[0], -1.0, 1.0)), np.asarray(quat[1:], dtype=np.float64)
    half_sine = np.sqrt(max(1.0 - w * w, 0.0))
    if half_sine < 1e-8:
        return np.zeros(3)
    return xyz / half_sine * 2.0 * np.arccos(w)


def _finger_pair(opening: np.ndarray) -> np.ndarray:
    """The gripper's total opening as two symmetric finger positions (+w/2, -w/2), as LIBERO reports them."""
    half = float(opening[0]) / 2
    return np.array([half, -half])


CONVERSIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "copy": lambda values: np.asarray(values, dtype=np.float64),
    "quaternion_to_axis_angle": _quaternion_to_axis_angle,
    "finger_pair": _finger_pair,
}


@dataclass(frozen=True)
class StatePart:
    start: int
    stop: int
    convert: str = "copy"


@dataclass(frozen=True)
class ObservationEntry:
    key: str  # the server's name for it
    source: str  # the suite's observation entry that fills it
    image_size: int | None = None  # images: resized to this square size
    parts: tuple[StatePart, ...] = ()  # vectors: pieces of the source, each converted, concatenated


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    domains: tuple[str, ...]
    observation: tuple[ObservationEntry, ...]
    episode_keys: bool
    action_key: str = "actions"
    action_take: tuple[int, int] | None = None  # keep dimensions [start, stop) of each action
    action_frame: str = "delta"  # or "absolute": target poses, converted to deltas from the current pose
    action_scale: tuple[float, ...] | None = None  # ours = theirs * scale (manipulation), then clipped

    def encode(self, observation: dict[str, Any]) -> dict[str, Any]:
        """The suite's observation as the server's dict (episode keys are added by the client)."""
        if not self.observation:
            return {k: v for k, v in observation.items() if k != "episode_id"}
        message = {}
        for entry in self.observation:
            if entry.source not in observation:
                raise UsageError(f"profile {self.name!r} reads observation {entry.source!r}, which this task "
                                 f"does not have (it has {', '.join(sorted(observation))})")
            value = observation[entry.source]
            if entry.image_size is not None:
                value = resize_image(value, entry.image_size)
            elif entry.parts:
                value = np.concatenate([CONVERSIONS[p.convert](np.asarray(value)[p.start:p.stop])
                                        for p in entry.parts]).astype(np.float32)
            message[entry.key] = value
        return message

    def decode(self, reply: dict[str, Any], observation: dict[str, Any]) -> np.ndarray | int:
        """The reply's actions in the suite's units: one action (a discrete one as an int) or a
        chunk. `observation` is the one they answer (absolute poses start from its proprio)."""
        if self.action_key not in reply:
            raise ValueError(f"the server's reply has no {self.action_key!r} (it has {', '.join(map(str, reply))})")
        actions = np.asarray(reply[self.action_key])
        if actions.ndim == 0:
            return actions.item()
        if self.action_take is not None:
            actions = actions[..., self.action_take[0]:self.action_take[1]]
        if self.action_frame == "absolute":
            actions = absolute_to_delta(actions, np.asarray(observation["proprio"]))
        if self.action_scale is not None and actions.shape[-1:] == (len(self.action_scale),):
            actions = np.clip(actions * np.asarray(self.action_scale), -1.0, 1.0)
        return actions


def absolute_to_delta(targets: np.ndarray, proprio: np.ndarray) -> np.ndarray:
    """World-frame target poses (x, y, z, axis-angle, gripper...) to our delta actions: each step
    moves from the previous target (the first from the hand's pose in `proprio`), in units of the
    controller's step (0.05 m, 0.25 rad), clipped to [-1, 1]."""
    from scipy.spatial.transform import Rotation

    from vla_bench.sim.controller import ControllerConfig, rotation_error

    limits = ControllerConfig()
    chunk = np.atleast_2d(targets).astype(np.float64)
    w, x, y, z = proprio[3:7]
    position, orientation = proprio[:3].astype(np.float64), Rotation.from_quat([x, y, z, w]).as_matrix()
    deltas = chunk.copy()
    for row, target in zip(deltas, chunk):
        goal = Rotation.from_rotvec(target[3:6]).as_matrix()
        row[:3] = (target[:3] - position) / limits.max_translation
        row[3:6] = rotation_error(goal, orientation) / limits.max_rotation
        position, orientation = target[:3], goal
    deltas[:, :6] = np.clip(deltas[:, :6], -1.0, 1.0)
    return deltas.reshape(targets.shape) if targets.ndim == 1 else deltas


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """An HxWx3 uint8 image resized to size x size (padded to a square first, as openpi's
    `resize_with_pad` does, so nothing is stretched)."""
    from PIL import Image

    image = np.asarray(image)
    if image.shape[:2] == (size, size):
        return image
    h, w = image.shape[:2]
    side = max(h, w)
    square = np.zeros((side, side, image.shape[2]), dtype=image.dtype)
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = image
    return np.asarray(Image.fromarray(square).resize((size, size), Image.BILINEAR))


def builtin_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.json"))


def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by name, or a profile file; unknown names list the valid ones."""
    path = Path(name_or_path)
    if not (path.suffix == ".json" and path.is_file()):
        path = PROFILE_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise UnknownName(f"unknown profile {name_or_path!r}; built-in profiles: "
                              f"{', '.join(builtin_profiles())}, or a path to a profile .json file")
    try:
        data = json.loads(path.read_text())
        entries = tuple(ObservationEntry(e["key"], e["source"], e.get("image_size"),
                                         tuple(StatePart(**p) for p in e.get("parts", ())))
                        for e in data["observation"])
        action = data.get("action", {})
        profile = Profile(path.stem, data.get("description", ""), tuple(data["domains"]), entries,
                          bool(data.get("episode_keys", False)), action.get("key", "actions"),
                          tuple(action["take"]) if action.get("take") else None, action.get("frame", "delta"),
                          tuple(action["scale"]) if action.get("scale") else None)
        if profile.action_frame not in ("delta", "absolute"):
            raise ValueError(f"action frame must be delta or absolute, got {profile.action_frame!r}")
    except (ValueError, KeyError, TypeError) as err:
        raise UsageError(f"profile {path} is not valid: {type(err).__name__}: {err}") from err
    unknown = {p.convert for e in profile.observation for p in e.parts} - set(CONVERSIONS)
    if unknown:
        raise UsageError(f"profile {path} uses unknown conversions {sorted(unknown)}; known: {sorted(CONVERSIONS)}")
    return profile

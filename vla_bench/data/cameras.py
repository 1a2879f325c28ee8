"""Which camera images each domain's demonstrations and learned policies use, as uint8 RGB.

Manipulation has the front and the wrist camera; navigation the egocentric colour camera and its
depth, which is turned into an image here (a grey ramp over `DEPTH_RANGE`) so that datasets store
it as LeRobot stores any camera and every model reads all cameras the same way.
"""
from __future__ import annotations

from typing import Any

import numpy as np

DOMAIN_CAMERAS: dict[str, tuple[str, ...]] = {
    "manipulation": ("rgb", "wrist_rgb"),
    "navigation": ("rgb", "depth"),
}
# the observation key of each camera -> its LeRobot feature name (the front camera of manipulation and the
# egocentric camera of navigation are both `rgb`: each domain has a dataset of its own)
CAMERA_FEATURES: dict[str, str] = {
    "rgb": "observation.images.front",
    "wrist_rgb": "observation.images.wrist",
    "depth": "observation.images.depth",
}
DEPTH_RANGE = 6.0  # metres mapped to 0..255; farther is white


def depth_image(depth: np.ndarray) -> np.ndarray:
    """Depth (H, W) in metres -> (H, W, 3) uint8, near black and far white."""
    grey = np.clip(np.nan_to_num(depth, nan=DEPTH_RANGE, posinf=DEPTH_RANGE) / DEPTH_RANGE, 0.0, 1.0)
    return np.repeat((grey * 255).round().astype(np.uint8)[..., None], 3, axis=-1)


def camera_frame(observation: dict[str, Any], camera: str) -> np.ndarray:
    """One camera of an observation as (H, W, 3) uint8."""
    if camera == "depth":
        return depth_image(observation["depth"])
    return observation[camera]

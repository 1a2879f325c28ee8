"""Offscreen rendering of named cameras with MuJoCo's renderer (EGL or OSMesa, see `gl`)."""
from __future__ import annotations

import os

import mujoco
import numpy as np

# The process that made the first GL context. GL drivers (Mesa's llvmpipe threads) do not survive
# fork: a forked child that makes a context waits forever, so it gets a clear error instead.
_GL_PROCESS: int | None = None


class OffscreenRenderer:
    """Renders named cameras of one model to RGB (and depth) arrays.

    Shadows and reflections are off by default: in software rendering they cost ~20x the rest
    of the frame and add little for 128x128 policy inputs.
    """

    def __init__(self, model: mujoco.MjModel, width: int, height: int, shadows: bool = False) -> None:
        global _GL_PROCESS
        if _GL_PROCESS not in (None, os.getpid()):
            raise RuntimeError(
                "this process was forked from one that has rendered (it holds an OpenGL context), and GL drivers do "
                "not survive fork: start workers with spawn, e.g. vla_bench.make_vec(task, n) or "
                "gymnasium.make_vec(..., vector_kwargs={'context': 'spawn'})")
        try:
            self._renderer = mujoco.Renderer(model, height=height, width=width)
        except mujoco.FatalError as err:
            raise RuntimeError(
                "MuJoCo could not create an offscreen OpenGL context. MuJoCo picks its GL platform when it is "
                "first imported: import vla_bench before mujoco, or set MUJOCO_GL=egl (or osmesa) in the "
                f"environment. ({err})") from err
        _GL_PROCESS = os.getpid()
        flags = self._renderer.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = shadows
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False
        # Show visual meshes (group 2) and objects (group 0), hide collision-only geoms (group 3).
        self._option = mujoco.MjvOption()
        self._option.geomgroup[:] = [1, 1, 1, 0, 0, 0]
        self._option.sitegroup[:] = 0

    def rgb(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        self._renderer.update_scene(data, camera=camera, scene_option=self._option)
        return self._renderer.render()

    def depth(self, data: mujoco.MjData, camera: str, scene_built: bool = False) -> np.ndarray:
        """Depth in metres; `scene_built`: the `rgb` call just before drew the same camera of the
        same state, so its scene is reused."""
        if not scene_built:
            self._renderer.update_scene(data, camera=camera, scene_option=self._option)
        self._renderer.enable_depth_rendering()
        try:
            return self._renderer.render().astype(np.float32)
        finally:
            self._renderer.disable_depth_rendering()

    def close(self) -> None:
        self._renderer.close()

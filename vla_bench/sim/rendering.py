"""Offscreen rendering of named cameras with MuJoCo's renderer (EGL or OSMesa, see `gl`).

A process makes one OpenGL context and keeps it; each scene gets its own MuJoCo render context
(its meshes and textures uploaded) on its first frame. Episodes build a new scene each reset, and
a GL context per scene, as `mujoco.Renderer` makes, cost about 70 ms a reset on llvmpipe and
left each worker's memory to creep up over thousands of episodes.
"""
from __future__ import annotations

import atexit
import os
import sys

import mujoco
import numpy as np

# The process's GL context and the process that made it. GL drivers (Mesa's llvmpipe threads) do
# not survive fork: a forked child that uses the context waits forever, so it gets a clear error.
_GL_CONTEXT: mujoco.GLContext | None = None
_GL_PROCESS: int | None = None

MAX_GEOMS = 10_000  # what mujoco.Renderer allows a scene


def current_gl_context(width: int, height: int) -> mujoco.GLContext:
    """The process's GL context, made current (and made first, if this process has none)."""
    global _GL_CONTEXT, _GL_PROCESS
    if _GL_PROCESS not in (None, os.getpid()):
        raise RuntimeError(
            "this process was forked from one that has rendered (it holds an OpenGL context), and GL drivers do "
            "not survive fork: start workers with spawn, e.g. vla_bench.make_vec(task, n) or "
            "gymnasium.make_vec(..., vector_kwargs={'context': 'spawn'})")
    if _GL_CONTEXT is None:
        try:
            _GL_CONTEXT = mujoco.GLContext(width, height)
        except Exception as err:  # the platform's own error types (EGL, OSMesa) differ
            raise RuntimeError(
                "MuJoCo could not create an offscreen OpenGL context. MuJoCo picks its GL platform when it is "
                "first imported: import vla_bench before mujoco, or set MUJOCO_GL=egl (or osmesa) in the "
                f"environment. ({type(err).__name__}: {err})") from err
        _GL_PROCESS = os.getpid()
        atexit.register(_free_gl_context)
    _GL_CONTEXT.make_current()
    return _GL_CONTEXT


def _free_gl_context() -> None:
    """Frees the process's GL context at exit while Python can still run the driver's calls: left
    to the finalizer, OSMesa's context printed a ctypes traceback on every exit (MuJoCo's EGL
    module ends its display the same way, also at exit)."""
    global _GL_CONTEXT
    if _GL_CONTEXT is not None and _GL_PROCESS == os.getpid():
        _GL_CONTEXT.free()
        _GL_CONTEXT = None


class OffscreenRenderer:
    """Renders named cameras of one model to RGB (and depth) arrays, as `mujoco.Renderer` does.

    Shadows and reflections are off by default: in software rendering they cost ~20x the rest
    of the frame and add little for 128x128 policy inputs. Nothing is uploaded until the first
    frame, so an env whose observations hold no camera (the oracle's) never pays for it.
    """

    def __init__(self, model: mujoco.MjModel, width: int, height: int, shadows: bool = False) -> None:
        if width > model.vis.global_.offwidth or height > model.vis.global_.offheight:
            raise ValueError(f"a {width}x{height} image does not fit the model's offscreen buffer "
                             f"({model.vis.global_.offwidth}x{model.vis.global_.offheight}): raise <visual><global "
                             "offwidth offheight> in the model")
        self.model, self.width, self.height, self.shadows = model, width, height, shadows
        self._rect = mujoco.MjrRect(0, 0, width, height)
        # Show visual meshes (group 2) and objects (group 0), hide collision-only geoms (group 3).
        self._option = mujoco.MjvOption()
        self._option.geomgroup[:] = [1, 1, 1, 0, 0, 0]
        self._option.sitegroup[:] = 0
        self._cameras: dict[str, mujoco.MjvCamera] = {}
        self._scene: mujoco.MjvScene | None = None  # these two on the first frame (8 ms and 40 ms a scene)
        self._context: mujoco.MjrContext | None = None

    def rgb(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        self._update_scene(data, camera)
        pixels = np.empty((self.height, self.width, 3), np.uint8)
        mujoco.mjr_render(self._rect, self._scene, self._ready())
        mujoco.mjr_readPixels(pixels, None, self._rect, self._context)
        return pixels[::-1].copy()  # GL's rows run bottom to top

    def depth(self, data: mujoco.MjData, camera: str, scene_built: bool = False) -> np.ndarray:
        """Depth in metres, as `mujoco.Renderer` computes it; `scene_built`: the `rgb` call just
        before drew the same camera of the same state, so its scene is reused."""
        if not scene_built or self._scene is None:
            self._update_scene(data, camera)
        if self._scene.camera[0].orthographic:
            raise ValueError(f"camera {camera!r} is orthographic: only perspective depth is converted")
        flags = self._scene.flags
        saved = flags.copy()
        flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = True  # exact depth at far distances, as mujoco.Renderer draws it
        flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = True
        try:
            raw = np.empty((self.height, self.width), np.float32)
            mujoco.mjr_render(self._rect, self._scene, self._ready())
            mujoco.mjr_readPixels(None, raw, self._rect, self._context)
        finally:
            np.copyto(flags, saved)
        # Undo the reversed-Z perspective projection in float64, with mujoco.Renderer's float32 planes.
        extent = self.model.stat.extent
        far, near = np.float32(self.model.vis.map.zfar * extent), np.float32(self.model.vis.map.znear * extent)
        c = np.float32(-0.5) * (-(far + near) / (far - near)) - np.float32(0.5)
        d = np.float32(-0.5) * (-(np.float32(2) * far * near) / (far - near))
        return (d / (raw.astype(np.float64) + c)).astype(np.float32)[::-1].copy()

    def close(self) -> None:
        if self._context is not None:
            # a scene's context exists only beside the process's GL context: with none left, the
            # exit hook freed it and this close comes from a later one, with nothing to free
            if _GL_CONTEXT is not None:
                current_gl_context(self.width, self.height)
                self._context.free()
            self._context = None

    def __del__(self) -> None:
        # a dropped renderer frees its GL objects in the process's context, not whichever is current;
        # at interpreter exit that context may be gone already (and the driver frees everything)
        if getattr(self, "_context", None) is not None and _GL_PROCESS == os.getpid() and not sys.is_finalizing():
            self.close()

    def _ready(self) -> mujoco.MjrContext:
        """The scene's render context, current; its meshes and textures go up on first use."""
        current_gl_context(self.width, self.height)
        if self._context is None:
            self._context = mujoco.MjrContext(self.model, mujoco.mjtFontScale.mjFONTSCALE_150.value)
            self._context.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR
        # each scene's context has its own framebuffer; the GL context draws into the last one bound
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN.value, self._context)
        return self._context

    def _update_scene(self, data: mujoco.MjData, camera: str) -> None:
        if self._scene is None:
            self._scene = mujoco.MjvScene(self.model, maxgeom=MAX_GEOMS)
            flags = self._scene.flags
            flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self.shadows
            flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False
        if camera not in self._cameras:
            camera_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
            if camera_id == -1:
                raise ValueError(f"the model has no camera {camera!r}")
            view = self._cameras[camera] = mujoco.MjvCamera()
            view.type, view.fixedcamid = mujoco.mjtCamera.mjCAMERA_FIXED, camera_id
        mujoco.mjv_updateScene(self.model, data, self._option, None, self._cameras[camera],
                               mujoco.mjtCatBit.mjCAT_ALL.value, self._scene)

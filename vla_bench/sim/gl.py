"""Chooses the headless OpenGL platform: EGL first, OSMesa as the fallback.

MuJoCo reads MUJOCO_GL when it is first imported, so `vla_bench/__init__.py` calls this before
anything imports mujoco. A user's own MUJOCO_GL setting always wins.
"""
from __future__ import annotations

import ctypes.util
import os


def select_gl_backend() -> str:
    """Pick EGL when libEGL is present, else OSMesa, unless MUJOCO_GL is already set."""
    if "MUJOCO_GL" not in os.environ:
        if ctypes.util.find_library("EGL"):
            os.environ["MUJOCO_GL"] = "egl"
        elif ctypes.util.find_library("OSMesa"):
            os.environ["MUJOCO_GL"] = "osmesa"
        else:
            raise RuntimeError("no headless OpenGL found: install libegl1 and libgl1-mesa-dri "
                               "(or libosmesa6); the README's install section says how")
    if os.environ["MUJOCO_GL"] in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
    return os.environ["MUJOCO_GL"]

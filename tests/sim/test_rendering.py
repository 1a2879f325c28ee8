"""Offscreen rendering: the suite's renderer draws exactly what MuJoCo's own `mujoco.Renderer`
draws, while keeping one GL context for the process and uploading a scene only when a frame of
it is asked for."""
import ctypes.util
import os
import subprocess
import sys

import mujoco
import numpy as np
import pytest

from vla_bench.sim import rendering
from vla_bench.sim.rendering import OffscreenRenderer


def _mujoco_renderer(model, size, shadows):
    """MuJoCo's renderer with the view settings OffscreenRenderer documents."""
    renderer = mujoco.Renderer(model, height=size, width=size)
    flags = renderer.scene.flags
    flags[mujoco.mjtRndFlag.mjRND_SHADOW] = shadows
    flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
    flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False
    option = mujoco.MjvOption()
    option.geomgroup[:] = [1, 1, 1, 0, 0, 0]
    option.sitegroup[:] = 0
    return renderer, option


@pytest.mark.parametrize("task, cameras", [("Stack", ("front", "wrist")), ("GoToObject", ("ego",))])
@pytest.mark.parametrize("shadows", [False, True])
def test_frames_and_depth_equal_mujocos_own_renderer(make_env, task, cameras, shadows):
    env = make_env(task, render_mode="rgb_array").unwrapped
    env.reset(seed=3)
    for _ in range(3):
        env.step(env.action_space.sample())
    ours = OffscreenRenderer(env.model, 64, 64, shadows=shadows)
    theirs, option = _mujoco_renderer(env.model, 64, shadows)
    try:
        for camera in cameras:
            theirs.update_scene(env.data, camera=camera, scene_option=option)
            rgb = ours.rgb(env.data, camera)
            assert rgb.dtype == np.uint8 and rgb.shape == (64, 64, 3) and rgb.std() > 0
            np.testing.assert_array_equal(rgb, theirs.render())
            theirs.enable_depth_rendering()
            depth = theirs.render()
            theirs.disable_depth_rendering()
            np.testing.assert_array_equal(ours.depth(env.data, camera, scene_built=True), depth)
            np.testing.assert_array_equal(ours.depth(env.data, camera), depth)
    finally:
        ours.close()
        theirs.close()


def test_episodes_share_the_process_gl_context_and_a_camera_less_env_uploads_nothing(make_env):
    seeing = make_env("PickUp", image_size=32).unwrapped
    seeing.reset(seed=0)
    context = rendering._GL_CONTEXT
    assert context is not None and seeing._renderer._context is not None
    blind = make_env("PickUp", observations=("instruction", "proprio"), render_mode="rgb_array").unwrapped
    for seed in range(3):
        seeing.reset(seed=seed)
        blind.reset(seed=seed)
        blind.step(np.zeros(7))
        assert rendering._GL_CONTEXT is context
        assert blind._renderer._scene is None and blind._renderer._context is None  # never drawn, never built
    assert blind.render().shape == (blind.image_size, blind.image_size, 3)  # a video frame: uploaded now
    assert blind._renderer._context is not None


def test_an_unknown_camera_is_named(make_env):
    env = make_env("PickUp", image_size=32).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="no camera 'top'"):
        env._renderer.rgb(env.data, "top")


@pytest.mark.parametrize("gl", ["egl", "osmesa"])
def test_a_script_that_never_closes_its_env_exits_quietly(gl):
    """A renderer still holding its scene at interpreter exit (the GL context may be gone by then)
    frees nothing and says nothing, on either GL platform: a user's script ends without a traceback
    (OSMesa's context, freed by Python's finalizer, once printed a ctypes error on every exit), and
    an env closed by an exit hook after the context was freed makes no new one."""
    if ctypes.util.find_library({"egl": "EGL", "osmesa": "OSMesa"}[gl]) is None:
        pytest.skip(f"no library for {gl}")
    script = ("import atexit, gymnasium as gym, vla_bench\n"
              "from vla_bench.sim import rendering\n"
              "atexit.register(lambda: print('context left:', rendering._GL_CONTEXT is not None))  # runs last\n"
              "env = gym.make('vla_bench/PickUp-v0')\n"
              "atexit.register(env.close)  # runs after the suite's own exit hook, which frees the context\n"
              "obs, _ = env.reset(seed=0)\n"
              "assert obs['rgb'].any()\n")
    environment = {**os.environ, "MUJOCO_GL": gl, "PYOPENGL_PLATFORM": gl}
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                              env=environment)
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr == ""
    assert finished.stdout.strip() == "context left: False"  # closing the env late made no new one

"""The effort and smoothness metrics: energy metered from the actuators' forces at every physics
step, RMS jerk from the controlled point's positions; both in every step's info."""
import mujoco
import numpy as np
import pytest

from vla_bench.sim.effort import EffortMeter, JerkMeter, add_force_sensors


def test_jerk_is_zero_at_constant_velocity_and_exact_for_a_cubic():
    steady = JerkMeter(period=0.1)
    for k in range(10):
        steady.add([0.05 * k, 0.0, 0.0])
    assert steady.rms == pytest.approx(0.0, abs=1e-9)
    cubic = JerkMeter(period=0.1)
    for k in range(10):
        t = 0.1 * k
        cubic.add([t**3, 0.0, 0.0])  # x''' = 6 everywhere
    assert cubic.rms == pytest.approx(6.0)
    assert JerkMeter(0.1).rms == 0.0  # fewer than four positions: none


def _episode(env, seed, policy):
    """The last info and the energy after each step; `policy(env)`, called after the reset, gives
    the function that returns each action."""
    _, info = env.reset(seed=seed)
    act = policy(env)
    energies = [info["energy"]]
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(act())
        energies.append(info["energy"])
        done = terminated or truncated
    return info, energies


def test_energy_starts_at_zero_grows_with_effort_and_a_random_arm_is_jerkier_than_the_expert(make_env):
    env = make_env("PickUp")
    expert_info, energies = _episode(env, 3, lambda e: e.unwrapped.make_expert().act)
    assert energies[0] == 0.0 and np.all(np.diff(energies) >= 0) and energies[-1] > 0
    assert expert_info["is_success"]
    rng = np.random.default_rng(0)
    random_info, random_energies = _episode(env, 3, lambda e: lambda: rng.uniform(-1, 1, 7))
    assert random_info["jerk"] > 3 * expert_info["jerk"] > 0
    per_step = lambda energy: energy[-1] / (len(energy) - 1)  # noqa: E731
    assert per_step(random_energies) > per_step(energies)  # flailing costs more per step than a grasp


def test_holding_still_costs_less_than_moving(make_env):
    env = make_env("PickUp")
    env.reset(seed=1)
    for _ in range(5):
        _, _, _, _, held = env.step(np.array([0, 0, 0, 0, 0, 0, 1.0]))
    env.reset(seed=1)
    for _ in range(5):
        _, _, _, _, moved = env.step(np.array([1.0, 0, -1.0, 0, 0, 0, 1.0]))
    assert moved["energy"] > 10 * held["energy"]
    assert moved["jerk"] > held["jerk"]


def test_the_base_meters_its_wheels(make_env):
    env = make_env("GoToObject")
    env.reset(seed=0)
    _, _, _, _, turned = env.step(2)  # turn left
    assert turned["energy"] > 0
    _, _, _, _, info = env.step(1)  # forward
    assert info["energy"] > turned["energy"]


def _meter_beside_mj_step(model: mujoco.MjModel, metered: mujoco.MjData, nstep: int = 20):
    """Step `metered` `nstep` times through a meter, and a copy of it by mj_step alone while adding
    τ²·dt after each step; assert every bit of the two states equal (the solver's warm start
    included). Returns (the meter's energy, the expected energy, the copy)."""
    alone = mujoco.MjData(model)
    mujoco.mj_copyData(alone, model, metered)
    meter, expected = EffortMeter(model, range(model.nu)), 0.0
    meter.step(metered, nstep)
    for _ in range(nstep):
        mujoco.mj_step(model, alone)
        expected += float(alone.actuator_force @ alone.actuator_force) * model.opt.timestep
    for field in ("time", "qpos", "qvel", "act", "qacc_warmstart", "ctrl", "actuator_force"):
        np.testing.assert_array_equal(getattr(metered, field), getattr(alone, field), err_msg=field)
    return meter.energy, expected, alone


def test_the_meter_sums_the_forces_of_every_physics_step(make_env):
    """Stepping through the meter equals stepping alone and adding τ²·dt after each step: the
    meter reads the forces each step leaves, not those of the first, and does not touch the physics."""
    env = make_env("PickUp").unwrapped
    env.reset(seed=2)
    env.step(np.array([1.0, 0, -1.0, 0, 0, 0, -1.0]))  # moving and gripping: forces change every step
    energy, expected, _ = _meter_beside_mj_step(env.model, env.data)
    assert energy == pytest.approx(expected, rel=1e-12) and expected > 0


def test_a_period_that_warns_is_stepped_as_mujoco_alone_steps_it(make_env):
    """MuJoCo's rollout stops at its first warning and clears the warning counts. A bad command
    (MuJoCo warns, zeroes the commands and carries on) must still step every physics step, meter
    each one and leave the counts the env's stability check reads, earlier ones included."""
    env = make_env("PickUp").unwrapped
    env.reset(seed=2)
    metered = env.data
    metered.warning.number[mujoco.mjtWarning.mjWARN_BADQACC] = 1  # from an earlier period
    metered.ctrl[0] = np.nan
    energy, expected, alone = _meter_beside_mj_step(env.model, metered)
    assert energy == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(metered.warning.number, alone.warning.number)
    assert metered.warning.number[mujoco.mjtWarning.mjWARN_BADCTRL] > 0


def test_the_meter_refuses_actuators_it_cannot_read():
    """Without a force sensor on an actuator the meter would have no force to sum: it says which."""
    spec = mujoco.MjSpec()
    body = spec.worldbody.add_body(name="pendulum")
    body.add_joint(name="hinge", type=mujoco.mjtJoint.mjJNT_HINGE)
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.1, 0, 0], pos=[0, 0, -0.5])
    for name in ("sensed", "unsensed"):
        spec.add_actuator(name=name, target="hinge", trntype=mujoco.mjtTrn.mjTRN_JOINT)
    add_force_sensors(spec, ["sensed"])
    model = spec.compile()
    EffortMeter(model, [0])
    with pytest.raises(ValueError, match="unsensed"):
        EffortMeter(model, [0, 1])

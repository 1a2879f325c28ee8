"""The 7-D action means what the README says: metres and radians per step, gripper open/close."""
import numpy as np
import pytest

from vla_bench.sim.controller import _pinv, _solve, norm, rotation_error


def _yaw(base):
    mat = base.data.site_xmat[base.panda.ee_site].reshape(3, 3)
    return float(np.arctan2(mat[1, 0], mat[0, 0]))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_translation_is_five_centimetres_per_step(axis, make_env):
    env = make_env("PickUp")
    env.reset(seed=0)
    base = env.unwrapped
    start = base.ee_pos.copy()
    action = np.zeros(7)
    action[axis], action[6] = 1.0, 1.0
    for _ in range(3):
        env.step(action)
    env.step(np.array([0, 0, 0, 0, 0, 0, 1.0]))  # let the servos catch up
    moved = base.ee_pos - start
    assert moved[axis] == pytest.approx(3 * base.controller_config.max_translation, abs=0.01)
    assert np.linalg.norm(np.delete(moved, axis)) < 0.01


def test_rotation_is_a_quarter_radian_per_step_and_holds(make_env):
    env = make_env("PickUp")
    env.reset(seed=0)
    base = env.unwrapped
    start = _yaw(base)
    for _ in range(2):
        env.step(np.array([0, 0, 0, 0, 0, 1.0, 1.0]))
    for _ in range(2):
        env.step(np.array([0, 0, 0, 0, 0, 0, 1.0]))
    turned = (_yaw(base) - start + np.pi) % (2 * np.pi) - np.pi
    assert turned == pytest.approx(2 * base.controller_config.max_rotation, abs=0.03)
    before = base.data.site_xmat[base.panda.ee_site].reshape(3, 3).copy()
    for _ in range(3):
        env.step(np.array([0, 0, 0, 0, 0, 0, 1.0]))
    after = base.data.site_xmat[base.panda.ee_site].reshape(3, 3)
    assert np.linalg.norm(rotation_error(after, before)) < 0.01, "orientation drifts without a command"


def test_gripper_closes_and_opens(make_env):
    env = make_env("PickUp")
    obs, _ = env.reset(seed=0)
    assert obs["proprio"][7] == pytest.approx(0.08, abs=0.002)
    for _ in range(3):
        obs, *_ = env.step(np.array([0, 0, 0.3, 0, 0, 0, -1.0]))
    assert obs["proprio"][7] < 0.005
    for _ in range(3):
        obs, *_ = env.step(np.array([0, 0, 0, 0, 0, 0, 1.0]))
    assert obs["proprio"][7] > 0.075


def test_the_ik_pseudo_inverse_has_numpys_bits():
    """The IK's own pinv must give np.linalg.pinv's bits exactly (full rank and rank-deficient
    Jacobians), or every episode's record would change with it."""
    rng = np.random.default_rng(0)
    for i in range(2000):
        jac = np.asfortranarray(rng.normal(size=(6, 7)) * rng.uniform(0.01, 3.0))
        if i % 5 == 0:
            jac[i % 6] = 0.0  # rank 5: the cut-off zeroes a singular value
        assert np.array_equal(_pinv(jac), np.linalg.pinv(jac))


def test_the_ik_solve_has_numpys_bits():
    """The damped system the IK solves each iteration, solved as np.linalg.solve solves it."""
    rng = np.random.default_rng(1)
    for _ in range(2000):
        jac = np.asfortranarray(rng.normal(size=(6, 7)) * rng.uniform(0.01, 3.0))
        system, err = jac @ jac.T + 0.05**2 * np.eye(6), rng.normal(size=6)
        assert np.array_equal(_solve(system, err), np.linalg.solve(system, err))


def test_the_norm_has_numpys_bits():
    rng = np.random.default_rng(2)
    for _ in range(2000):
        vector = rng.normal(size=3) * rng.lognormal(0, 4)
        assert norm(vector) == np.linalg.norm(vector)

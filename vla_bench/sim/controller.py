"""Turns the 7-D end-effector action into joint position targets (damped least squares IK)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np
from numpy.linalg import _umath_linalg  # the LAPACK calls behind np.linalg's solve and svd

from vla_bench.sim.panda import FINGER_MAX, HOME_QPOS, PandaHandles


@dataclass(frozen=True)
class ControllerConfig:
    """Scales from the normalised action to physical units, and the IK's tuning."""

    max_translation: float = 0.05  # metres per control step at |a| = 1
    max_rotation: float = 0.25  # radians per control step at |a| = 1
    damping: float = 0.05  # DLS damping λ
    nullspace_gain: float = 0.2  # pull towards the home posture in the Jacobian's null space
    ik_iterations: int = 3
    leash: float = 0.03  # metres the commanded position may run ahead of the measured one
    rotation_leash: float = 0.15  # radians the commanded orientation may run ahead of the measured one


class EndEffectorController:
    """Delta-pose control: target = previous target ⊕ action, solved to joint targets by DLS IK.

    Integrating from the previous *commanded* pose (not the measured one) makes an action of
    +1 move the hand `max_translation` (turn it `max_rotation`) per step even though the servos
    lag a little. The command is leashed to the measured pose, `leash` metres and
    `rotation_leash` radians at most, so it cannot wind up while the hand is blocked.
    The IK runs on a scratch MjData so the simulated state is never touched; the result is
    written to the arm's position actuators, which track it over the control period.
    """

    def __init__(self, model: mujoco.MjModel, panda: PandaHandles, config: ControllerConfig) -> None:
        self.model, self.panda, self.config = model, panda, config
        self._scratch = mujoco.MjData(model)
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))
        # the arm's columns of both, stacked; column-major as np.vstack of the two made it, since
        # the memory order picks the BLAS path and so the last bits of the solution
        self._jac = np.zeros((6, len(panda.arm_dof)), order="F")
        self._dof, self._arm_qpos = _index(panda.arm_dof), _index(panda.arm_qpos)  # slices when consecutive
        self._damping = config.damping**2 * np.eye(6)
        self._identity = np.eye(len(panda.arm_dof))
        self._joint_range = model.jnt_range[np.searchsorted(model.jnt_qposadr, panda.arm_qpos)].T
        self._target_pos: np.ndarray | None = None
        self._target_mat: np.ndarray | None = None

    def commanded_position(self, data: mujoco.MjData) -> np.ndarray:
        """Where the next action's translation starts: the previous target, leashed to the hand."""
        measured = data.site_xpos[self.panda.ee_site]
        if self._target_pos is None:
            return measured.copy()
        return measured + _clip_norm(self._target_pos - measured, self.config.leash)

    def commanded_orientation(self, data: mujoco.MjData) -> np.ndarray:
        """Where the next action's rotation starts: the previous target, leashed to the hand."""
        measured = data.site_xmat[self.panda.ee_site].reshape(3, 3)
        if self._target_mat is None:
            return measured.copy()
        lead = _clip_norm(rotation_error(self._target_mat, measured), self.config.rotation_leash)
        return _rotate(lead, measured)

    def target_pose(self, data: mujoco.MjData, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World-frame EE target (position, rotation matrix) for a normalised action."""
        pos = self.commanded_position(data) + self.config.max_translation * action[:3]
        mat = _rotate(self.config.max_rotation * action[3:6], self.commanded_orientation(data))
        return pos, mat

    def solve(self, data: mujoco.MjData, pos: np.ndarray, mat: np.ndarray) -> np.ndarray:
        """Joint positions that bring the EE site to (pos, mat), starting from the current state."""
        scratch, model, cfg, site = self._scratch, self.model, self.config, self.panda.ee_site
        jac, jacp, jacr, dof, arm = self._jac, self._jacp, self._jacr, self._dof, self._arm_qpos
        lower, upper = self._joint_range
        scratch.qpos[:] = data.qpos
        q = scratch.qpos[arm].copy()
        err = np.empty(6)
        for _ in range(cfg.ik_iterations):
            mujoco.mj_kinematics(model, scratch)
            mujoco.mj_comPos(model, scratch)
            err[:3] = pos - scratch.site_xpos[site]
            err[3:] = rotation_error(mat, scratch.site_xmat[site].reshape(3, 3))
            mujoco.mj_jacSite(model, scratch, jacp, jacr, site)
            jac[:3], jac[3:] = jacp[:, dof], jacr[:, dof]
            dq = jac.T @ _solve(jac @ jac.T + self._damping, err)
            nullspace = self._identity - _pinv(jac) @ jac
            dq += nullspace @ (cfg.nullspace_gain * (HOME_QPOS - q))
            q = np.minimum(np.maximum(q + dq, lower), upper)  # np.clip's result, without its overhead
            scratch.qpos[arm] = q
        if not np.isfinite(q).all():  # np.linalg's checks would have raised; MuJoCo would zero the command
            raise np.linalg.LinAlgError(f"the IK found no finite joint targets for {pos}")
        return q

    def apply(self, data: mujoco.MjData, action: np.ndarray) -> None:
        """Write actuator targets for one control step."""
        pos, mat = self.target_pose(data, action)
        self._target_pos, self._target_mat = pos, mat
        data.ctrl[self.panda.arm_actuators] = self.solve(data, pos, mat)
        data.ctrl[self.panda.gripper_actuator] = gripper_target(action[6])


def _index(ids: np.ndarray) -> slice | np.ndarray:
    """`ids` as a slice when they are consecutive: the same elements, read without a fancy-index copy."""
    if len(ids) and np.array_equal(ids, np.arange(ids[0], ids[0] + len(ids))):
        return slice(int(ids[0]), int(ids[0]) + len(ids))
    return ids


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`np.linalg.solve(a, b)` for a vector `b`: the same LAPACK call, so the same bits, without its
    argument checks and error-state context, which cost more than the solve at this size. A
    singular `a` gives non-finite numbers instead of LinAlgError (the IK's is never singular: it is
    damped), and `solve` raises on them."""
    return _umath_linalg.solve1(a, b, signature="dd->d")


_SVD_GUFUNC = getattr(_umath_linalg, "svd_s", None)


def _reduced_svd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.linalg.svd(a, full_matrices=False)`: its LAPACK gufunc where numpy 2 names it (numpy 1
    splits it by shape), without the error-state context that costs more than the SVD here. One
    that does not converge gives NaN instead of LinAlgError, and `solve` raises on it."""
    if _SVD_GUFUNC is None:
        return np.linalg.svd(a, full_matrices=False)
    return _SVD_GUFUNC(a, signature="d->ddd")


def _pinv(a: np.ndarray) -> np.ndarray:
    """`np.linalg.pinv(a)` of a real matrix by numpy's own arithmetic (the same SVD, cut-off and
    products, so the same bits), without its argument handling and error-state context: two
    thirds of its time at this size."""
    u, s, vt = _reduced_svd(a)
    large = s > 1e-15 * s.max()
    s = np.divide(1, s, where=large, out=s)
    s[~large] = 0
    return np.matmul(vt.T, s[:, np.newaxis] * u.T)


def norm(vector: np.ndarray) -> float:
    """`np.linalg.norm` of a vector by the same arithmetic (the square root of its dot product with
    itself), without the dispatch that costs it a few microseconds: the controller and the env's
    bookkeeping take several per step."""
    return math.sqrt(vector.dot(vector))


def _clip_norm(vector: np.ndarray, limit: float) -> np.ndarray:
    length = norm(vector)
    return vector if length <= limit else vector * (limit / length)


def _rotate(rotvec: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """The rotation `mat` turned by the world-frame axis-angle vector `rotvec`."""
    angle = norm(rotvec)
    if angle < 1e-12:
        return mat.copy()
    delta = np.zeros(4)
    mujoco.mju_axisAngle2Quat(delta, rotvec / angle, angle)
    delta_mat = np.zeros(9)
    mujoco.mju_quat2Mat(delta_mat, delta)
    return delta_mat.reshape(3, 3) @ mat


def gripper_target(command: float) -> float:
    """−1 closes, +1 opens; in between is proportional (finger travel in metres)."""
    return min(max((command + 1.0) / 2.0, 0.0), 1.0) * FINGER_MAX


def rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Axis-angle vector (world frame) that rotates `current` onto `target`."""
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, (target @ current.T).ravel())
    vel = np.zeros(3)
    mujoco.mju_quat2Vel(vel, quat, 1.0)
    return vel

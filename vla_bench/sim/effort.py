"""How hard a robot works and how smoothly it moves: the energy proxy and the jerk of README
"Metrics", measured inside the simulation so every policy is measured the same way."""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

import mujoco
import numpy as np
from mujoco import rollout

_FULL_PHYSICS = mujoco.mjtState.mjSTATE_FULLPHYSICS
_USER = mujoco.mjtState.mjSTATE_USER  # what the world's user sets: commands, applied forces, mocap


def add_force_sensors(spec: mujoco.MjSpec, actuators: Iterable[str]) -> None:
    """An `actuatorfrc` sensor on each named actuator: what an `EffortMeter` over them reads after
    every physics step. A sensor only records, so the physics is the same with or without them."""
    for name in actuators:
        spec.add_sensor(name=f"force_{name}", type=mujoco.mjtSensor.mjSENS_ACTUATORFRC,
                        objtype=mujoco.mjtObj.mjOBJ_ACTUATOR, objname=name)


class EffortMeter:
    """Steps the physics and sums Σ τ² · dt over the robot's actuators at every physics step: an
    energy proxy (a motor's resistive losses grow with torque squared). The Panda's gravity
    compensation is not an actuator force, so an arm held still costs next to nothing; what is
    counted is the effort of moving, gripping and pushing.

    The physics steps run inside MuJoCo's `rollout` on the env's own MjData, its solver warm start
    included, and the forces come back from the actuators' force sensors (`add_force_sensors`) for
    all the steps at once: a control step's 50 physics steps cost one call from Python instead of
    50. A rollout stops at MuJoCo's first warning and clears the warning counts, so a period that
    warns is stepped again from its start one `mj_step` at a time, as MuJoCo alone steps it, and
    the counts the env's stability check reads keep adding up."""

    def __init__(self, model: mujoco.MjModel, actuators: Iterable[int]) -> None:
        ids = [int(a) for a in actuators]
        sensors = {int(model.sensor_objid[s]): int(model.sensor_adr[s]) for s in range(model.nsensor)
                   if model.sensor_type[s] == mujoco.mjtSensor.mjSENS_ACTUATORFRC
                   and model.sensor_dim[s] == 1 and model.sensor_cutoff[s] == 0}  # the force, as it is
        missing = [model.actuator(a).name for a in ids if a not in sensors]
        if missing:
            raise ValueError(f"actuators {missing} have no force sensor: add them with add_force_sensors")
        self.model = model
        self.columns = [sensors[a] for a in ids]  # each metered actuator's force in sensordata
        self.energy = 0.0  # N²·m²·s (torques) or N²·s (the gripper's tendon force)
        self._rollout = rollout.Rollout(nthread=0)  # on the calling thread
        self._state = np.empty((1, mujoco.mj_stateSize(model, _FULL_PHYSICS)))
        self._warmstart = np.empty((1, model.nv))
        self._inputs = np.empty(mujoco.mj_stateSize(model, _USER))
        self._buffers: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # nstep -> (inputs, sensordata)

    def step(self, data: mujoco.MjData, nstep: int = 1) -> None:
        """`mujoco.mj_step` `nstep` times with the commands and applied forces held (a push on the
        arm among them), metering each step."""
        model = self.model
        if nstep not in self._buffers:
            self._buffers[nstep] = np.empty((1, nstep, len(self._inputs))), np.empty((1, nstep, model.nsensordata))
        inputs, sensordata = self._buffers[nstep]
        mujoco.mj_getState(model, data, self._state[0], _FULL_PHYSICS)
        mujoco.mj_getState(model, data, self._inputs, _USER)
        self._warmstart[0] = data.qacc_warmstart
        inputs[0] = self._inputs
        warnings = data.warning.number.copy()
        self._rollout.rollout([model], [data], self._state, inputs, control_spec=int(_USER), skip_checks=True,
                              nstep=nstep, initial_warmstart=self._warmstart, sensordata=sensordata)
        if data.warning.number.any():
            self._step_one_by_one(data, nstep)
        else:
            self._add_squares(sensordata[0])
        data.warning.number[:] += warnings

    def _step_one_by_one(self, data: mujoco.MjData, nstep: int) -> None:
        """The period from its start again, by `mj_step` alone: what MuJoCo does after a warning
        (it carries on, or resets an unstable state and carries on) is the env's to see."""
        model = self.model
        mujoco.mj_setState(model, data, self._state[0], _FULL_PHYSICS)
        mujoco.mj_setState(model, data, self._inputs, _USER)
        data.qacc_warmstart[:] = self._warmstart[0]
        data.warning.number[:] = 0
        forces = np.empty((nstep, model.nsensordata))
        for i in range(nstep):
            mujoco.mj_step(model, data)
            forces[i] = data.sensordata
        self._add_squares(forces)

    def _add_squares(self, forces: np.ndarray) -> None:
        """Σ τ² · dt over these physics steps' forces (one row each), in the order a dot product of
        a few terms adds them, so the energy has the bits it had when it was one."""
        squares = np.zeros(len(forces))
        for column in self.columns:
            squares += forces[:, column] * forces[:, column]
        energy = self.energy
        for term in (squares * self.model.opt.timestep).tolist():
            energy += term
        self.energy = energy


class JerkMeter:
    """RMS jerk (m/s³) of a point sampled once per control step: the third finite difference of
    its positions over the control period (Flash & Hogan's minimum-jerk measure of smoothness)."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._recent: deque[np.ndarray] = deque(maxlen=4)
        self._sum_squares = 0.0
        self._count = 0

    def add(self, position: np.ndarray) -> None:
        self._recent.append(np.array(position, dtype=np.float64))
        if len(self._recent) == 4:
            p0, p1, p2, p3 = self._recent
            jerk = (p3 - 3 * p2 + 3 * p1 - p0) / self.period**3
            self._sum_squares += float(jerk @ jerk)
            self._count += 1

    @property
    def rms(self) -> float:
        """0 until four positions were seen."""
        return math.sqrt(self._sum_squares / self._count) if self._count else 0.0

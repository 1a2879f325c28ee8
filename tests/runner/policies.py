"""Purpose-built policies for the runner and supervisor tests (loaded as path/to/file.py:Class)."""
import os
import time

import numpy as np

from vla_bench.policy import Policy
from vla_bench.policy.builtin import OraclePolicy


class Raises(Policy):
    name = "raises"

    def act(self, observation):
        raise RuntimeError("model exploded")


class ReturnsNaN(Policy):
    name = "nan"

    def act(self, observation):
        return np.full(7, np.nan)


class WrongShape(Policy):
    name = "wrong_shape"

    def act(self, observation):
        return np.zeros(3)


class WrongType(Policy):
    name = "wrong_type"

    def act(self, observation):
        return "forward"


class Hangs(Policy):
    name = "hangs"

    def act(self, observation):
        time.sleep(3600)


class DrivesIntoTable(Policy):
    name = "into_table"

    def act(self, observation):
        return np.array([0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0])


class LeavesWorkspace(Policy):
    name = "leaves_workspace"

    def act(self, observation):
        return np.array([1.0, 1.0, 0.2, 0.0, 0.0, 0.0, 1.0])


class StandsStill(Policy):
    name = "stands_still"

    def act(self, observation):
        return np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])


class Greedy(Policy):
    """Deterministic, stateless, reads only proprio: moves the hand towards a fixed point."""

    name = "greedy"
    observation_keys = ("proprio",)

    def act(self, observation):
        error = np.array([0.5, 0.1, 0.1]) - observation["proprio"][:3]
        return np.concatenate([np.clip(error / 0.05, -1, 1), np.zeros(3), [1.0]])


class BatchedGreedy(Greedy):
    """The same policy served through act_batch, with per-episode state keyed by episode_id."""

    name = "greedy"

    def __init__(self):
        self.seen = {}

    def reset(self, instruction, task):
        self.seen[task.episode_id] = 0

    def act_batch(self, observations):
        for obs in observations:
            self.seen[obs["episode_id"]] += 1
        return [self.act(obs) for obs in observations]


class NeedsDepth(Policy):
    observation_keys = ("rgb", "point_cloud")

    def act(self, observation):
        return np.zeros(7)


class Navigates(Policy):
    action_mode = "discrete"

    def act(self, observation):
        return 1


class BatchedRaisesOnOne(Greedy):
    """Served in batches; its batch call breaks, and `act` fails only on odd episodes."""

    name = "batched_raises"

    def act_batch(self, observations):
        raise RuntimeError("batch exploded")

    def act(self, observation):
        if observation["episode_id"].endswith("1"):
            raise ValueError("bad episode")
        return super().act(observation)


class BatchedHangs(Greedy):
    name = "batched_hangs"

    def act_batch(self, observations):
        time.sleep(3600)


class ResetRaises(Greedy):
    name = "reset_raises"

    def reset(self, instruction, task):
        raise KeyError("no such checkpoint key")


class BatchedResetRaises(BatchedGreedy):
    name = "batched_reset_raises"

    def reset(self, instruction, task):
        raise KeyError("no such checkpoint key")


class NeedsWrist(StandsStill):
    """Reads the wrist camera, which only the manipulation tasks have."""

    observation_keys = ("rgb", "wrist_rgb")


class SixFloats(Policy):
    """Breaks the contract the way a common bug does: a list one entry short."""

    name = "six_floats"

    def act(self, observation):
        return [0.0] * 6


class ReturnsInt(Policy):
    name = "returns_int"

    def act(self, observation):
        return 1


class FailsOnOddSeeds(Policy):
    """Sporadic failures: only some episodes' observations break it."""

    name = "fails_on_odd_seeds"

    def reset(self, instruction, task):
        self.broken = task.episode_seed % 2 == 1

    def act(self, observation):
        if self.broken:
            raise ValueError("odd seed")
        return np.zeros(7, np.float32)


class RecordsInstructions(Policy):
    """Writes every instruction it reads (at reset and in each observation) to `log`, one JSON line
    per call, and stays still (manipulation) or stops (navigation)."""

    name = "records_instructions"
    action_mode = ("ee_delta", "discrete")

    def __init__(self, log: str) -> None:
        self.log = log

    def _write(self, kind, text):
        import json

        with open(self.log, "a") as f:
            f.write(json.dumps({"kind": kind, "episode": self.episode_id, "text": text}) + "\n")

    def reset(self, instruction, task):
        self.episode_id, self.domain = task.episode_id, task.domain
        self._write("reset", instruction)

    def act(self, observation):
        self._write("act", observation["instruction"])
        return 0 if self.domain == "navigation" else np.zeros(7)


class Chunks(Greedy):
    """Returns a chunk of 5 actions (the greedy one repeated) in manipulation, of 5 moves in
    navigation; counts its calls."""

    name = "chunks"
    observation_keys = None
    action_mode = ("ee_delta", "discrete")

    def reset(self, instruction, task):
        self.domain = task.domain

    def act(self, observation):
        if self.domain == "navigation":
            return np.array([1, 1, 2, 1, 3])
        return np.stack([super().act(observation)] * 5)


class RaisesOnStep(Greedy):
    """Raises on its third call of the episodes whose seed is odd (served remotely: the server
    answers with a traceback and closes the connection)."""

    name = "raises_on_step"

    def reset(self, instruction, task):
        self.calls, self.odd = 0, task.episode_seed % 2 == 1

    def act(self, observation):
        self.calls += 1
        if self.odd and self.calls == 3:
            raise ValueError("broke on the third step")
        return super().act(observation)


class BatchedChunks(Chunks):
    """The same chunks served through act_batch (the batched executor)."""

    def __init__(self):
        self.domains = {}

    def reset(self, instruction, task):
        self.domains[task.episode_id] = task.domain

    def act_batch(self, observations):
        actions = []
        for obs in observations:
            self.domain = self.domains[obs["episode_id"]]
            actions.append(self.act(obs))
        return actions


class Sleeps150ms(Greedy):
    """Greedy, but each call takes 150 ms: longer than manipulation's 100 ms control period."""

    def act(self, observation):
        time.sleep(0.15)
        return super().act(observation)


class SlowGreedy(Greedy):
    """Greedy, taking `delay` seconds a step: runs long enough to pull a server's plug or lose a
    node mid-run. With `pid_file`, the process that built it writes its pid there."""

    def __init__(self, delay=0.02, pid_file=None):
        self.delay = delay
        if pid_file:
            with open(pid_file, "w") as f:
                f.write(str(os.getpid()))

    def act(self, observation):
        time.sleep(self.delay)
        return super().act(observation)


class SlowBatchedGreedy(SlowGreedy, BatchedGreedy):
    """SlowGreedy served through act_batch (a policy actor on a Ray cluster)."""

    def __init__(self, delay=0.02, pid_file=None):
        SlowGreedy.__init__(self, delay, pid_file)
        BatchedGreedy.__init__(self)


class LogsObservationKeys(Policy):
    """Declares that it reads the wrist camera and the instruction, and writes the keys of every
    observation it gets to `log`, one JSON list per call."""

    name = "logs_observation_keys"
    observation_keys = ("wrist_rgb", "instruction")

    def __init__(self, log: str) -> None:
        self.log = log

    def act(self, observation):
        import json

        with open(self.log, "a") as f:
            f.write(json.dumps(sorted(observation)) + "\n")
        return np.zeros(7, np.float32)


class SeeingOracle(OraclePolicy):
    """The oracle, run with both cameras rendered (it reads neither): every episode of the run
    builds and draws a new scene."""

    name = "seeing_oracle"
    observation_keys = ("rgb", "wrist_rgb")

"""vla-bench: a simulation benchmark for how well Vision-Language-Action policies generalize."""
from vla_bench.sim.gl import select_gl_backend

select_gl_backend()  # before anything imports mujoco

from vla_bench.policy import Policy, TaskInfo  # noqa: E402
from vla_bench.specs import EpisodeSpec, PoolSelection  # noqa: E402
from vla_bench.task.registry import list_tasks, task_entry  # noqa: E402
from vla_bench.task.vector import make_vec  # noqa: E402

__version__ = "0.1.0"
__all__ = ["EpisodeSpec", "Policy", "PoolSelection", "TaskInfo", "list_tasks", "make_vec", "task_entry", "__version__"]

import vla_bench.envs  # noqa: E402,F401  (registers every task with Gymnasium)

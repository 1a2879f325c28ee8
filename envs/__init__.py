"""Task families. Importing this package registers every built-in task."""
from vla_bench.envs.manipulation import tasks as _manipulation_tasks  # noqa: F401

"""Task families. Importing this package registers every built-in task."""
from vla_bench.envs.manipulation import tasks as _manipulation_tasks  # noqa: F401
from vla_bench.envs.navigation import tasks as _navigation_tasks  # noqa: F401

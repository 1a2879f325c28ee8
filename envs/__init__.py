"""Task families. Importing this package registers every built-in task (manipulation first,
so adding navigation left every manipulation task's place in the registry, and its seeds, as it was)."""
from vla_bench.envs.manipulation import tasks as _manipulation_tasks  # noqa: F401  isort: skip
from vla_bench.envs.navigation import tasks as _navigation_tasks  # noqa: F401  isort: skip

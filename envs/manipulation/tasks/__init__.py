"""The manipulation task families; importing this package registers them (in this order)."""
from vla_bench.envs.manipulation.tasks import pick_up, put_in, push_to_region, stack  # noqa: F401  isort: skip
from vla_bench.envs.manipulation.tasks import drawer  # noqa: F401  isort: skip

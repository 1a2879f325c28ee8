"""The manipulation task families; importing this package registers them."""
from vla_bench.envs.manipulation.tasks import drawer, pick_up, push_to_region, put_in, stack  # noqa: F401

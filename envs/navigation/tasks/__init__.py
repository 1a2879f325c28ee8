"""The navigation task families; importing this package registers them."""
from vla_bench.envs.navigation.tasks import go_to_object, go_to_relation, multi_step  # noqa: F401

import pytest

from vla_bench.data.collect import collect


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Oracle demonstrations of two manipulation tasks (so two instructions) and one navigation task,
    as `vla-bench collect` writes them (a LeRobot dataset per domain)."""
    root = tmp_path_factory.mktemp("demos") / "ds"
    return collect("train", root, episodes_per_task=1, tasks=["PickUp", "CloseDrawer", "GoToObject"], seed=5,
                   progress=False)

"""Every task can draw episodes from any mix of seen and unseen pools (what the splits need)."""
import pytest

from tests.conftest import MANIPULATION_TASKS
from vla_bench.assets import factor_pools
from vla_bench.specs import PoolSelection

SELECTIONS = {"all seen": {}, "all unseen": {f: "unseen" for f in factor_pools()},
              **{f"{f} unseen": {f: "unseen"} for f in factor_pools()}}


@pytest.mark.parametrize("task", MANIPULATION_TASKS)
def test_episodes_can_be_drawn_from_every_pool_mix(task, make_env):
    env = make_env(task).unwrapped
    for name, pools in SELECTIONS.items():
        for seed in range(40):
            episode = env.sample_episode(seed, PoolSelection(pools))
            assert episode.task == task and episode.instruction, name


@pytest.mark.parametrize("task", MANIPULATION_TASKS)
def test_named_objects_vary_within_each_pool(task, make_env):
    env = make_env(task).unwrapped
    for pool in ("seen", "unseen"):
        pools = PoolSelection({"object_kind": pool, "receptacle_kind": pool})
        named = {tuple(sorted((r, o["kind"]) for r, o in env.sample_episode(s, pools).factors["objects"].items()
                              if not r.startswith("distractor"))) for s in range(60)}
        assert len(named) >= 2 or named == {()}, f"{task} names only {named} from the {pool} pool"

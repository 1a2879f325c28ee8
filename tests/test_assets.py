"""The catalog and factor pools that every split is drawn from."""
from vla_bench.assets import POOLS, catalog, colors, factor_pools, instructions
from vla_bench.task.registry import list_tasks


def test_catalog_has_enough_named_kinds_and_colors():
    kinds = catalog()
    assert len(kinds) >= 24
    assert len(colors()) >= 12
    receptacles = {k.name for k in kinds.values() if k.receptacle}
    assert {"bowl", "plate", "tray", "box"} <= receptacles
    assert sum(k.graspable for k in kinds.values()) >= 20


def test_every_factor_has_disjoint_seen_and_unseen_pools():
    for factor, pools in factor_pools().items():
        assert set(pools) == set(POOLS), factor
        seen = [repr(v) for v in pools["seen"]]
        unseen = [repr(v) for v in pools["unseen"]]
        assert seen and unseen, factor
        assert not set(seen) & set(unseen), f"{factor} has values in both pools"


def test_pools_only_name_things_that_exist():
    pools = factor_pools()
    for pool in POOLS:
        assert set(pools["object_kind"][pool]) <= set(catalog())
        assert set(pools["receptacle_kind"][pool]) <= {k.name for k in catalog().values() if k.receptacle}
        assert set(pools["color"][pool]) <= set(colors())


def test_every_task_has_seen_and_unseen_instruction_templates():
    for task in list_tasks(domain="manipulation", builtin_only=True):
        templates = instructions()[task]
        assert templates["seen"] and templates["unseen"]
        assert not set(templates["seen"]) & set(templates["unseen"])

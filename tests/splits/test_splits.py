"""Splits are disjoint where they must be: no held-out value or composition leaks into train."""
import pytest

from vla_bench.assets import factor_pools
from vla_bench.splits import (
    SPLITS,
    composition,
    draw_episode,
    generate_manifest,
    is_held_out,
    load_manifest,
)
from vla_bench.splits.definitions import ENVIRONMENT_FACTORS
from vla_bench.splits.manifest import episodes_hash

EPISODE_FACTORS = ("table_texture", "floor_color", "lighting", "camera", "friction", "mass_scale", "instruction_template")
HOUSE_FACTORS = ("wall_color", "floor_color", "room_light", "instruction_template")


def _pool_of(factor, value):
    pools = factor_pools()[factor]
    value = list(value) if isinstance(value, tuple) else value
    found = [pool for pool in ("seen", "unseen") if value in pools[pool]]
    assert len(found) == 1, f"{factor}={value!r} is in no pool or in both"
    return found[0]


def _pools(episode):
    """factor -> set of pools its values in this episode come from."""
    f = episode.factors
    if "goals" in f:  # a navigation episode: a house
        used = {factor: {_pool_of(factor, f[factor])} for factor in HOUSE_FACTORS}
        used["floor_plan"] = {_pool_of("floor_plan", {k: v for k, v in f["floor_plan"].items() if k != "seed"})}
        used["furniture_kind"] = {_pool_of("furniture_kind", item["kind"]) for item in f["furniture"]}
        used["color"] = {_pool_of("color", item["color"]) for item in f["furniture"]}
        return used
    used = {factor: {_pool_of(factor, f[factor])} for factor in EPISODE_FACTORS}
    distractors = [o for role, o in f["objects"].items() if role.startswith("distractor")]
    used["distractors"] = {_pool_of("distractors", len(distractors))}
    used["color"] = {_pool_of("color", o["color"]) for o in f["objects"].values()}
    if f.get("cabinet"):
        used["color"].add(_pool_of("color", f["cabinet"]["color"]))
    used["scale"] = {_pool_of("scale", o["scale"]) for role, o in f["objects"].items() if role != "receptacle"}
    kinds = {o["kind"] for o in f["objects"].values()}
    receptacles = set(factor_pools()["receptacle_kind"]["seen"] + factor_pools()["receptacle_kind"]["unseen"])
    used["object_kind"] = {_pool_of("object_kind", k) for k in kinds - receptacles}
    used["receptacle_kind"] = {_pool_of("receptacle_kind", k) for k in kinds & receptacles}
    return {factor: pools for factor, pools in used.items() if pools}


@pytest.fixture(scope="module")
def manifests():
    return {name: load_manifest(name) for name in SPLITS}


def test_every_split_has_a_committed_manifest_covering_every_task(manifests):
    import vla_bench
    for name, manifest in manifests.items():
        assert manifest.split == name
        assert set(manifest.tasks) == set(vla_bench.list_tasks(builtin_only=True))
        assert all(len(manifest.for_task(t)) == 50 for t in manifest.tasks)
        assert len({e.episode_id for e in manifest.episodes}) == len(manifest.episodes)


def test_committed_manifests_are_what_the_definitions_generate(manifests):
    """Regenerating a slice reproduces the committed episodes exactly (the draw is deterministic)."""
    for name, manifest in manifests.items():
        for task in manifest.tasks:  # each task alone: its episodes do not depend on the others named
            fresh = generate_manifest(name, episodes_per_task=2, tasks=[task])
            assert episodes_hash(fresh.episodes) == episodes_hash(manifest.for_task(task)[:2]), (name, task)


def test_train_uses_only_seen_values_and_seen_compositions(manifests):
    for episode in manifests["train"].episodes:
        assert all(pools == {"seen"} for pools in _pools(episode).values()), episode.episode_id
        assert not is_held_out(composition(episode))


def test_novel_compositions_are_seen_parts_in_combinations_train_never_has(manifests):
    train = {composition(e) for e in manifests["train"].episodes}
    for episode in manifests["novel_compositions"].episodes:
        assert all(pools == {"seen"} for pools in _pools(episode).values()), episode.episode_id
        assert is_held_out(composition(episode)) and composition(episode) not in train


def test_novel_objects_names_only_unseen_objects(manifests):
    for episode in manifests["novel_objects"].episodes:
        pools = _pools(episode)
        assert pools.get("object_kind", {"unseen"}) == {"unseen"}
        assert pools.get("receptacle_kind", {"unseen"}) == {"unseen"}
        assert pools.get("furniture_kind", {"unseen"}) == {"unseen"}
        assert pools.get("lighting", {"seen"}) == pools.get("camera", {"seen"}) == pools.get("room_light", {"seen"}) == {"seen"}


def test_novel_instructions_change_only_the_wording(manifests):
    train_instructions = {e.instruction for e in manifests["train"].episodes}
    for episode in manifests["novel_instructions"].episodes:
        pools = _pools(episode)
        assert pools.pop("instruction_template") == {"unseen"}
        assert all(p == {"seen"} for p in pools.values())
        assert episode.instruction not in train_instructions


def test_novel_environments_mostly_perturb_one_factor_and_only_those(manifests):
    episodes = manifests["novel_environments"].episodes
    single = [e for e in episodes if len(e.perturbed) == 1]
    assert 0.5 < len(single) / len(episodes) < 0.9
    for episode in episodes:
        assert set(episode.perturbed) <= set(ENVIRONMENT_FACTORS)
        for factor, pools in _pools(episode).items():
            expected = {"unseen"} if factor in episode.perturbed else {"seen"}
            assert pools == expected, (episode.episode_id, factor)
    assert {f for e in episodes for f in e.perturbed} == set(ENVIRONMENT_FACTORS)


def test_a_fresh_seed_draws_a_different_set_from_the_same_definition():
    a = draw_episode(SPLITS["novel_objects"], "PickUp", 1)
    b = draw_episode(SPLITS["novel_objects"], "PickUp", 2)
    assert a != b and a == draw_episode(SPLITS["novel_objects"], "PickUp", 1)


def test_an_edited_manifest_is_refused(tmp_path, manifests):
    import json

    from vla_bench.splits.manifest import MANIFEST_DIR
    data = json.loads((MANIFEST_DIR / "train.json").read_text())
    data["episodes"][0]["instruction"] = "do something else"
    (tmp_path / "train.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="does not match its hash"):
        load_manifest("train", directory=tmp_path)

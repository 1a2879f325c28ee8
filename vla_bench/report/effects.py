"""Per-factor effects on `novel_environments`: how much a policy's success changes when one
environment factor is drawn from its unseen pool, measured against the twin `train` episode.

Episode k of a task has the same environment seed in every split, so the `novel_environments`
episode and the `train` episode of the same task and seed share the task, the instruction's
composition and, unless drawing the perturbed factor takes other random draws (distractors, a
floor plan), every other factor value. Pairing them removes the between-episode variation that
bare per-factor success rates carry.
"""
from __future__ import annotations

from dataclasses import dataclass

from vla_bench.compare import compare_pairs, paired_outcomes
from vla_bench.metrics import twin_id

SEVERAL = "2-3 factors"  # episodes that perturb several factors at once


@dataclass(frozen=True)
class FactorEffect:
    policy: str
    factor: str
    pairs: int
    success_novel: float
    success_train: float
    difference: float  # success_novel - success_train
    ci_low: float  # paired bootstrap, stratified by task, 95%
    ci_high: float
    p_value: float  # exact McNemar


def factor_effects(policy: str, novel: list[dict], train: list[dict], seed: int = 0) -> list[FactorEffect]:
    """One effect per perturbed factor (episodes that perturb only it), then one for episodes that
    perturb several, each over the pairs with a twin in `train`."""
    groups: dict[str, list[dict]] = {}
    for record in novel:
        perturbed = record.get("perturbed") or []
        if perturbed:
            groups.setdefault(perturbed[0] if len(perturbed) == 1 else SEVERAL, []).append(record)
    effects = []
    for factor in sorted(groups, key=lambda f: (f == SEVERAL, f)):
        pairs = paired_outcomes(groups[factor], train, key=twin_id)
        if not pairs:
            continue
        overall = compare_pairs(pairs, seed)[-1]
        effects.append(FactorEffect(policy, factor, overall.pairs, overall.success_a, overall.success_b,
                                    overall.difference, overall.ci_low, overall.ci_high, overall.p_value))
    return effects

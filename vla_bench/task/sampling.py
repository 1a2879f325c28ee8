"""Draws an episode's factor values from the seen/unseen pools with a passed Generator."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from vla_bench.assets import factor_pools
from vla_bench.specs import PoolSelection


@dataclass
class FactorSampler:
    """Picks factor values for one episode; `pools` says seen or unseen per factor."""

    rng: np.random.Generator
    pools: PoolSelection

    def pool(self, factor: str) -> list[Any]:
        return factor_pools()[factor][self.pools(factor)]

    def choice(self, factor: str) -> Any:
        values = self.pool(factor)
        return values[int(self.rng.integers(len(values)))]

    def color(self, exclude: Sequence[str] = ()) -> str:
        options = [c for c in self.pool("color") if c not in exclude]
        return options[int(self.rng.integers(len(options)))]

from __future__ import annotations

from dataclasses import dataclass

from vla_bench.baselines.configuration import BaselineConfig
from vla_bench.baselines.registry import register_baseline

POOLINGS = ("mean", "spatial_softmax")


@register_baseline("bcz", summary="BC-Z style FiLM-ResNet trained on the oracle's demonstrations, both domains "
                                  "(shipped checkpoint)")
@dataclass(frozen=True)
class BCZConfig(BaselineConfig):
    """BC-Z as in the paper, scaled down: a ResNet-18 layout (two basic blocks per stage) at a
    quarter of its widths, FiLM in every block, and an MLP regressing the continuous action.
    Deviations: both cameras and the proprio state go in, each decision regresses a chunk of
    future actions executed with temporal ensembling (ACT), and navigation's four discrete
    moves are classified by a head of their own (regression has no meaning for them)."""

    chunk: int = 4
    stem_width: int = 32
    stage_widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks_per_stage: int = 2
    hidden: int = 256
    # how each camera's last feature map becomes a vector: "mean" (ResNet's global average, as
    # in the paper) or "spatial_softmax" (the expected image position of stage_widths[-1] // 2
    # learned keypoints: the same width, but it says where things are rather than what)
    pooling: str = "mean"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")

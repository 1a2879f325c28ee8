from __future__ import annotations

from dataclasses import dataclass

from vla_bench.baselines.configuration import BaselineConfig
from vla_bench.baselines.registry import register_baseline

ENCODERS = ("scratch", "efficientnet_lite0")


@register_baseline("rt1", summary="RT-1 style transformer trained on the oracle's demonstrations, both domains "
                                  "(shipped checkpoint)")
@dataclass(frozen=True)
class RT1Config(BaselineConfig):
    """RT-1 as in the paper, scaled down: FiLM-EfficientNet per camera frame, TokenLearner to
    `tokens_per_image` tokens, a causal Transformer over `history` steps, 256 bins per action
    dimension. Deviations: both cameras and the proprio state go in (our tasks randomize
    cameras and need the gripper's state), the encoder is trained from scratch, each step
    predicts a chunk of future actions executed with temporal ensembling (ACT), and navigation's
    four discrete moves get a head of their own."""

    history: int = 2
    chunk: int = 4
    stem_width: int = 24
    stage_widths: tuple[int, ...] = (32, 48, 64, 96)  # MBConv stages; all but the last halve the resolution
    expand_ratio: int = 4
    tokens_per_image: int = 8
    width: int = 128  # transformer width
    layers: int = 4
    heads: int = 4
    dropout: float = 0.1
    bins: int = 256
    # append each position's image coordinates to the last feature map before TokenLearner pools
    # it, so each token also says where its attention map lies (a sum over space forgets that)
    coordinates: bool = False
    # "scratch": the MBConv stages above, trained from scratch; "efficientnet_lite0": RT-1's own
    # choice, an ImageNet-trained EfficientNet (Lite0's first five stages, 112 channels at 1/16
    # resolution, from its PyPI package), fine-tuned, with FiLM after every block (identity at first)
    encoder: str = "scratch"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")

from __future__ import annotations

from dataclasses import dataclass

from vla_bench.baselines.configuration import BaselineConfig
from vla_bench.baselines.registry import register_baseline

ENCODERS = ("cnn", "vit", "efficientnet_lite0")
FUSIONS = ("film", "early", "late", "cross_attention")
HEADS = ("continuous", "binned")
# the base: BC-Z's choices (a CNN trained from scratch, FiLM, one continuous action per decision)
BASE = {"encoder": "cnn", "fusion": "film", "head": "continuous", "chunk": 1}
# each variant differs from the base in exactly one choice
VARIANTS = {
    "base": {},
    "vit": {"encoder": "vit"},
    "pretrained_cnn": {"encoder": "efficientnet_lite0"},
    "early_fusion": {"fusion": "early"},
    "late_fusion": {"fusion": "late"},
    "cross_attention": {"fusion": "cross_attention"},
    "binned": {"head": "binned"},
    "chunked": {"chunk": 4},
}


@register_baseline("ablation", summary="the design-space model: encoder, language fusion and action head chosen "
                                       "by --config variant=NAME (no shipped checkpoint; results/ablations.csv)")
@dataclass(frozen=True)
class AblationConfig(BaselineConfig):
    """Choices, each left as None to take the variant's (`vla-bench train ablation --config
    variant=vit`), or set to override it:
    - encoder: "cnn" (ResNet-18's layout at a quarter of its widths, as bcz), "vit" (16×16 patches,
      a 4-layer Transformer of width 192), "efficientnet_lite0" (ImageNet-trained, fine-tuned);
    - fusion, where the instruction's embedding meets the image: "film" (in every encoder block),
      "early" (concatenated to the input: 8 constant image planes for the CNN, one more token for
      the ViT), "late" (concatenated to the pooled image features), "cross_attention" (a query
      made from it attends over the encoder's tokens, which pools them);
    - head: "continuous" (regression) or "binned" (256 bins per dimension);
    - chunk: 1, or 4 future actions executed with temporal ensembling (ACT)."""

    variant: str = "base"
    encoder: str | None = None
    fusion: str | None = None
    head: str | None = None
    chunk: int | None = None  # type: ignore[assignment]  (None: the variant's)
    stage_widths: tuple[int, ...] = (32, 64, 128, 256)
    vit_width: int = 192
    vit_layers: int = 4
    hidden: int = 256

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
        for name, value in {**BASE, **VARIANTS[self.variant]}.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        super().__post_init__()
        for name, valid in (("encoder", ENCODERS), ("fusion", FUSIONS), ("head", HEADS)):
            if getattr(self, name) not in valid:
                raise ValueError(f"{name} must be one of {valid}, got {getattr(self, name)!r}")
        if self.fusion == "early" and self.encoder == "efficientnet_lite0":
            raise ValueError("early fusion changes the encoder's input, which a pretrained encoder cannot take")

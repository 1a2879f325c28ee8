from __future__ import annotations

from dataclasses import dataclass

from vla_bench.baselines.multimodal.configuration import MultimodalConfig
from vla_bench.baselines.registry import register_baseline


@register_baseline("rt2", summary="RT-2 style: SmolLM2-135M (LoRA) reads image tokens and the instruction, "
                                  "actions as 256 of its vocabulary's tokens")
@dataclass(frozen=True)
class RT2Config(MultimodalConfig):
    """RT-2 as in the paper, scaled down: a pretrained language model reads image tokens placed
    before the instruction and answers with action tokens, each action dimension one of 256 bins
    written as one of the 256 last (least frequent) entries of its vocabulary, scored by the
    model's own output embedding of that entry (trained from its pretrained value). Deviations:
    SmolLM2-135M instead of PaLI-X or PaLM-E, its image tokens from a small CNN trained here
    rather than a pretrained ViT, LoRA instead of full fine-tuning, parallel decoding of the
    seven tokens (MultimodalConfig), the proprio state as one more token (unless `proprio` is
    off), and navigation's move as one of the first four action tokens."""

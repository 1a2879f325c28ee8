from __future__ import annotations

from dataclasses import dataclass

from vla_bench.baselines.multimodal.configuration import MultimodalConfig
from vla_bench.baselines.registry import register_baseline


@register_baseline("palme", summary="PaLM-E style: SmolLM2-135M (LoRA) reads image tokens among the "
                                    "instruction's, continuous actions regressed from its states")
@dataclass(frozen=True)
class PaLMEConfig(MultimodalConfig):
    """PaLM-E's multimodal sentence (image embeddings injected among the language model's token
    embeddings) with a continuous action head: each action dimension regressed from its query's
    state by one linear map. Everything else is rt2's, so rt2 against palme isolates action
    tokens against regression on one backbone. PaLM-E itself planned in words for a separate
    low-level policy; here the sentence drives the robot directly."""

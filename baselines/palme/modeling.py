"""PaLM-E: the multimodal sentence read out by regression (and navigation's moves classified)."""
from __future__ import annotations

from vla_bench.baselines.configuration import MANIPULATION_ACTION_DIM, NAVIGATION_ACTIONS
from vla_bench.baselines.heads import ActionHead, ContinuousHead, DiscreteHead
from vla_bench.baselines.multimodal.modeling import MultimodalSentenceModel, PositionwiseLinear
from vla_bench.baselines.palme.configuration import PaLMEConfig


class PaLME(MultimodalSentenceModel):
    config_class = PaLMEConfig

    def manipulation_head(self, width: int) -> ActionHead:
        return ContinuousHead(width, self.config.chunk, MANIPULATION_ACTION_DIM,
                              project=PositionwiseLinear(self.width, 1, MANIPULATION_ACTION_DIM),
                              regression_loss=self.config.regression_loss)

    def navigation_head(self, width: int) -> ActionHead:
        return DiscreteHead(width, self.config.chunk, NAVIGATION_ACTIONS,
                            project=PositionwiseLinear(self.width, NAVIGATION_ACTIONS, 1))

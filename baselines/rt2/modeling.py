"""RT-2: the multimodal sentence read out as scores of 256 reused vocabulary entries."""
from __future__ import annotations

import torch
from torch import nn

from vla_bench.baselines.configuration import MANIPULATION_ACTION_DIM, NAVIGATION_ACTIONS
from vla_bench.baselines.heads import ActionHead, BinnedHead, DiscreteHead
from vla_bench.baselines.multimodal.modeling import MultimodalSentenceModel, query_states
from vla_bench.baselines.rt2.configuration import RT2Config

ACTION_BINS = 256


class TokenScores(nn.Module):
    """The language model's output scores (hidden state · token embedding, its tied output layer)
    of `tokens` vocabulary entries at each of the first `positions` query states of every step."""

    def __init__(self, embeddings: torch.Tensor, positions: int) -> None:
        super().__init__()
        self.embeddings = nn.Parameter(embeddings.clone())  # (tokens, D), fine-tuned from the pretrained rows
        self.positions = positions

    def forward(self, readout: torch.Tensor) -> torch.Tensor:
        states = query_states(readout, self.embeddings.shape[1], self.positions)
        return (states @ self.embeddings.T.to(states.dtype)).flatten(-2)


class RT2(MultimodalSentenceModel):
    config_class = RT2Config

    def action_token_embeddings(self) -> torch.Tensor:
        """The pretrained embeddings of the vocabulary's last 256 entries (bin k is entry V - 256 + k),
        the tokens RT-2 and OpenVLA overwrite because a language rarely uses them."""
        return self.language_model.embed.weight[-ACTION_BINS:].detach()

    def manipulation_head(self, width: int) -> ActionHead:
        scores = TokenScores(self.action_token_embeddings(), MANIPULATION_ACTION_DIM)
        return BinnedHead(width, self.config.chunk, MANIPULATION_ACTION_DIM, ACTION_BINS, project=scores)

    def navigation_head(self, width: int) -> ActionHead:
        scores = TokenScores(self.action_token_embeddings()[:NAVIGATION_ACTIONS], 1)
        return DiscreteHead(width, self.config.chunk, NAVIGATION_ACTIONS, project=scores)

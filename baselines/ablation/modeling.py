"""The design-space model: an encoder per camera, the instruction fused as configured, the pooled
features and proprio through bcz's MLP, and a continuous or binned head."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vla_bench.baselines.ablation.configuration import AblationConfig
from vla_bench.baselines.ablation.encoders import PretrainedCNNEncoder, ResNetEncoder, ViTEncoder
from vla_bench.baselines.configuration import MANIPULATION_ACTION_DIM
from vla_bench.baselines.heads import ActionHead, BinnedHead, ContinuousHead
from vla_bench.baselines.model import BaselineModel

BINS = 256
CROSS_ATTENTION_HEADS = 4


class LanguageQueryPool(nn.Module):
    """Cross-attention fusion: a query made from the instruction attends over the image tokens, so
    what the words ask for decides which parts of the image are kept."""

    def __init__(self, channels: int, language_dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(language_dim, channels)
        self.attention = nn.MultiheadAttention(channels, CROSS_ATTENTION_HEADS, batch_first=True)

    def forward(self, tokens: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        query = self.query(language)[:, None].to(tokens.dtype)
        return self.attention(query, tokens, tokens, need_weights=False)[0][:, 0]


class Ablation(BaselineModel):
    config_class = AblationConfig

    def __init__(self, config: AblationConfig) -> None:
        super().__init__(config)
        c = config
        film, early = c.fusion == "film", c.fusion == "early"
        if c.encoder == "vit":
            self.encoder = ViTEncoder(c.image_size, c.vit_width, c.vit_layers, c.language_dim, film, early)
        elif c.encoder == "efficientnet_lite0":
            self.encoder = PretrainedCNNEncoder(c.language_dim, film)
        else:
            self.encoder = ResNetEncoder(c.stage_widths, c.language_dim, film, early)
        width = self.encoder.channels
        self.pool = LanguageQueryPool(width, c.language_dim) if c.fusion == "cross_attention" else None
        features = width * c.cameras * c.history + 64 + (c.language_dim if c.fusion == "late" else 0)
        self.mlp = nn.Sequential(nn.Linear(features, c.hidden), nn.ReLU(), nn.Linear(c.hidden, c.hidden), nn.ReLU())
        self.build_domain_layers(proprio_width=64, readout_width=c.hidden, frame_width=width * c.cameras)

    def encode_frames(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        camera_language = language.repeat_interleave(images.shape[1], dim=0)
        tokens = self.encoder(images.flatten(0, 1), camera_language)
        pooled = self.pool(tokens, camera_language) if self.pool is not None else tokens.mean(dim=1)
        return pooled.unflatten(0, images.shape[:2])  # (N, cameras, C)

    def manipulation_head(self, width: int) -> ActionHead:
        if self.config.head == "binned":
            return BinnedHead(width, self.config.chunk, MANIPULATION_ACTION_DIM, BINS)
        return ContinuousHead(width, self.config.chunk, MANIPULATION_ACTION_DIM,
                              regression_loss=self.config.regression_loss)

    def decide(self, features: torch.Tensor, proprio: torch.Tensor, language: torch.Tensor,
               domain: torch.Tensor) -> torch.Tensor:
        state = F.relu(self.embed_proprio(proprio[:, -1], domain)).to(features.dtype)
        parts = [features.flatten(1), state] + ([language.to(features.dtype)] if self.config.fusion == "late" else [])
        return self.mlp(torch.cat(parts, dim=1))[:, None]  # (B, 1, hidden)

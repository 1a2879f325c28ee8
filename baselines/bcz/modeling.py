"""BC-Z: FiLM-ResNet-18 image features + proprio -> MLP -> continuous action."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vla_bench.baselines.bcz.configuration import BCZConfig
from vla_bench.baselines.configuration import MANIPULATION_ACTION_DIM
from vla_bench.baselines.heads import ActionHead, ContinuousHead
from vla_bench.baselines.layers import FiLM, SpatialSoftmax, conv_stem
from vla_bench.baselines.model import BaselineModel


class FiLMBasicBlock(nn.Module):
    """ResNet's basic block with FiLM applied before the residual sum, as in BC-Z (`film=False`:
    the plain block, for encoders the instruction does not condition)."""

    def __init__(self, c_in: int, c_out: int, stride: int, language_dim: int, film: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.film = FiLM(language_dim, c_out) if film else None
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out else
                         nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        y = self.film(y, language) if self.film is not None else y
        return F.relu(y + self.shortcut(x))


def resnet_stages(c_in: int, stage_widths: tuple[int, ...], blocks_per_stage: int, language_dim: int,
                  film: bool = True) -> nn.ModuleList:
    """ResNet's stages of basic blocks after a stem of `c_in` channels, the first block of every
    stage but the first halving the resolution (BC-Z's trunk; the design-space model's CNN)."""
    blocks = []
    for i, c_out in enumerate(stage_widths):
        for j in range(blocks_per_stage):
            blocks.append(FiLMBasicBlock(c_in, c_out, 2 if i > 0 and j == 0 else 1, language_dim, film))
            c_in = c_out
    return nn.ModuleList(blocks)


class BCZ(BaselineModel):
    config_class = BCZConfig

    def __init__(self, config: BCZConfig) -> None:
        super().__init__(config)
        c = config
        self.stem = conv_stem(c.stem_width, nn.ReLU)
        self.blocks = resnet_stages(c.stem_width, c.stage_widths, c.blocks_per_stage, c.language_dim)
        c_in = c.stage_widths[-1]
        self.pool = SpatialSoftmax(c_in, c_in // 2) if c.pooling == "spatial_softmax" else None
        features = c_in * c.cameras * c.history + 64
        self.mlp = nn.Sequential(nn.Linear(features, c.hidden), nn.ReLU(), nn.Linear(c.hidden, c.hidden), nn.ReLU())
        self.build_domain_layers(proprio_width=64, readout_width=c.hidden, frame_width=c_in * c.cameras)

    def encode_frames(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        x = self.film_feature_maps(images, language)
        pooled = self.pool(x) if self.pool is not None else x.mean(dim=(2, 3))
        return pooled.unflatten(0, images.shape[:2])  # (N, cameras, C)

    def manipulation_head(self, width: int) -> ActionHead:
        return ContinuousHead(width, self.config.chunk, MANIPULATION_ACTION_DIM,
                              regression_loss=self.config.regression_loss)

    def decide(self, features: torch.Tensor, proprio: torch.Tensor, language: torch.Tensor,
               domain: torch.Tensor) -> torch.Tensor:
        state = F.relu(self.embed_proprio(proprio[:, -1], domain)).to(features.dtype)
        return self.mlp(torch.cat([features.flatten(1), state], dim=1))[:, None]  # (B, 1, hidden)

"""RT-1: FiLM-EfficientNet -> TokenLearner -> causal Transformer -> discretized actions."""
from __future__ import annotations

import torch
from torch import nn

from vla_bench.baselines.configuration import MANIPULATION_ACTION_DIM
from vla_bench.baselines.heads import ActionHead, BinnedHead
from vla_bench.baselines.layers import FiLM, conv_stem, filmed, with_coordinates
from vla_bench.baselines.model import BaselineModel
from vla_bench.baselines.pretrained.efficientnet_lite import EfficientNetLite0
from vla_bench.baselines.rt1.configuration import RT1Config


class MBConv(nn.Module):
    """EfficientNet's inverted residual block (expand, depthwise, squeeze-excite, project),
    followed by FiLM from the instruction as in RT-1."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int, language_dim: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.expand = nn.Sequential(nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.SiLU())
        self.depthwise = nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                                       nn.BatchNorm2d(hidden), nn.SiLU())
        squeezed = max(8, c_in // 4)
        self.squeeze_excite = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(hidden, squeezed, 1), nn.SiLU(),
                                            nn.Conv2d(squeezed, hidden, 1), nn.Sigmoid())
        self.project = nn.Sequential(nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.residual = stride == 1 and c_in == c_out
        self.film = FiLM(language_dim, c_out)

    def forward(self, x: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(self.expand(x))
        y = self.project(y * self.squeeze_excite(y))
        if self.residual:
            y = y + x
        return self.film(y, language)


class TokenLearner(nn.Module):
    """Learns `tokens` spatial attention maps and pools the feature map under each (Ryoo et al. 2021)."""

    def __init__(self, channels: int, tokens: int) -> None:
        super().__init__()
        self.attention = nn.Sequential(nn.LayerNorm(channels), nn.Linear(channels, channels), nn.GELU(),
                                       nn.Linear(channels, tokens))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features.flatten(2).transpose(1, 2)  # (N, HW, C)
        weights = self.attention(x).softmax(dim=1)  # (N, HW, tokens), each map sums to 1 over space
        return weights.transpose(1, 2) @ x  # (N, tokens, C)


class RT1(BaselineModel):
    config_class = RT1Config

    def __init__(self, config: RT1Config) -> None:
        super().__init__(config)
        c = config
        if c.encoder == "efficientnet_lite0":
            pretrained = EfficientNetLite0.pretrained(stages=5)
            self.stem = pretrained.stem
            self.blocks = filmed(pretrained.blocks, c.language_dim)
            c_in = pretrained.channels
        else:
            self.stem = conv_stem(c.stem_width, nn.SiLU)
            blocks, c_in = [], c.stem_width
            for i, c_out in enumerate(c.stage_widths):
                stride = 2 if i < len(c.stage_widths) - 1 else 1
                blocks += [MBConv(c_in, c_out, stride, c.expand_ratio, c.language_dim),
                           MBConv(c_out, c_out, 1, c.expand_ratio, c.language_dim)]
                c_in = c_out
            self.blocks = nn.ModuleList(blocks)
        self.to_width = nn.Conv2d(c_in + (2 if c.coordinates else 0), c.width, 1)
        self.token_learner = TokenLearner(c.width, c.tokens_per_image)
        self.camera_embedding = nn.Parameter(torch.zeros(c.cameras, 1, c.width))
        self.tokens_per_step = c.cameras * c.tokens_per_image + 1
        self.position = nn.Parameter(torch.randn(c.history * self.tokens_per_step, c.width) * 0.02)
        layer = nn.TransformerEncoderLayer(c.width, c.heads, 4 * c.width, c.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.width)
        self.build_domain_layers(proprio_width=c.width, readout_width=c.width,
                                 frame_width=c.cameras * c.tokens_per_image * c.width)
        step = torch.arange(c.history * self.tokens_per_step) // self.tokens_per_step
        self.register_buffer("causal_mask", step[None, :] > step[:, None], persistent=False)  # True: may not attend

    def encode_frames(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        x = self.film_feature_maps(images, language)
        x = with_coordinates(x) if self.config.coordinates else x
        tokens = self.token_learner(self.to_width(x)).unflatten(0, images.shape[:2])  # (N, cameras, T, D)
        return (tokens + self.camera_embedding).flatten(1, 2)

    def manipulation_head(self, width: int) -> ActionHead:
        return BinnedHead(width, self.config.chunk, MANIPULATION_ACTION_DIM, self.config.bins)

    def decide(self, features: torch.Tensor, proprio: torch.Tensor, language: torch.Tensor,
               domain: torch.Tensor) -> torch.Tensor:
        """Every step of the window is read out (the causal mask hides later steps from it)."""
        b, h = features.shape[:2]
        state = self.embed_proprio(proprio, domain)[:, :, None]  # (B, H, 1, D)
        tokens = torch.cat([features, state.to(features.dtype)], dim=2).flatten(1, 2)  # (B, H * tokens_per_step, D)
        count = tokens.shape[1]
        x = tokens + self.position[-count:]  # a shorter history takes the latest positions
        # a block-causal mask, not the square one: saying so spares PyTorch comparing them on the host,
        # which a CUDA graph's capture does not allow
        x = self.transformer(x, mask=self.causal_mask[-count:, -count:], is_causal=False)
        return self.norm(x.unflatten(1, (h, self.tokens_per_step)).mean(dim=2))  # (B, H, D): one per step

"""The design-space model's image encoders: each maps a camera's images (N, 3, H, W) and the
instruction's embedding (N, L) to tokens (N, T, channels), conditioned by FiLM or taking the
instruction at its input (early fusion) only when asked."""
from __future__ import annotations

import torch
from torch import nn

from vla_bench.baselines.bcz.modeling import resnet_stages
from vla_bench.baselines.layers import FiLM, filmed
from vla_bench.baselines.pretrained.efficientnet_lite import EfficientNetLite0

EARLY_PLANES = 8  # constant image planes the instruction becomes under early fusion (CNN)
PATCH = 16
VIT_HEADS = 4


class ResNetEncoder(nn.Module):
    """bcz's trunk: a stride-2 stem, then two basic blocks per stage, FiLM in each when `film`."""

    def __init__(self, widths: tuple[int, ...], language_dim: int, film: bool, early: bool) -> None:
        super().__init__()
        self.early = nn.Linear(language_dim, EARLY_PLANES) if early else None
        planes = 3 + (EARLY_PLANES if early else 0)
        self.stem = nn.Sequential(nn.Conv2d(planes, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU())
        self.blocks = resnet_stages(widths[0], widths, 2, language_dim, film)
        self.channels = widths[-1]

    def forward(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        return self.feature_maps(images, language).flatten(2).transpose(1, 2)

    def feature_maps(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W), (N, L) -> the last stage's maps (N, channels, h, w)."""
        if self.early is not None:
            planes = self.early(language)[:, :, None, None].expand(-1, -1, *images.shape[-2:])
            images = torch.cat([images, planes.to(images.dtype)], dim=1)
        x = self.stem(images)
        for block in self.blocks:
            x = block(x, language)
        return x


class ViTEncoder(nn.Module):
    """A Vision Transformer (Dosovitskiy et al. 2021) trained from scratch: 16×16 patches, learned
    positions, pre-norm layers; FiLM on every token after each layer when `film`, the instruction
    as one more token when `early`."""

    def __init__(self, image_size: int, width: int, layers: int, language_dim: int, film: bool, early: bool) -> None:
        super().__init__()
        self.patches = nn.Conv2d(3, width, PATCH, PATCH)
        self.position = nn.Parameter(torch.randn((image_size // PATCH) ** 2, width) * 0.02)
        self.early = nn.Linear(language_dim, width) if early else None
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(width, VIT_HEADS, 4 * width, 0.0, activation="gelu", batch_first=True,
                                       norm_first=True) for _ in range(layers))
        self.films = nn.ModuleList(FiLM(language_dim, width) for _ in range(layers)) if film else None
        self.norm = nn.LayerNorm(width)
        self.channels = width

    def forward(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        x = self.patches(images).flatten(2).transpose(1, 2) + self.position
        if self.early is not None:
            x = torch.cat([self.early(language)[:, None].to(x.dtype), x], dim=1)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if self.films is not None:  # FiLM modulates channels: tokens as a (N, C, T, 1) map
                x = self.films[i](x.transpose(1, 2)[..., None], language)[..., 0].transpose(1, 2)
        return self.norm(x)


class PretrainedCNNEncoder(nn.Module):
    """EfficientNet-Lite0's first five stages with their ImageNet weights (FiLM after each block
    when `film`, as rt1's pretrained encoder)."""

    def __init__(self, language_dim: int, film: bool) -> None:
        super().__init__()
        network = EfficientNetLite0.pretrained(stages=5)
        self.stem = network.stem
        self.blocks = filmed(network.blocks, language_dim) if film else network.blocks
        self.film, self.channels = film, network.channels

    def forward(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        x = self.stem(images)
        for block in self.blocks:
            x = block(x, language) if self.film else block(x)
        return x.flatten(2).transpose(1, 2)

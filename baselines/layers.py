"""The baselines' building blocks: FiLM (alone and after a pretrained block), spatial-softmax
pooling and coordinate channels, input normalization and image augmentation."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class FiLM(nn.Module):
    """Feature-wise linear modulation (Perez et al. 2018) of a feature map by the instruction.

    Starts as the identity (gamma 1, beta 0), so an untrained conditioning does no harm.
    """

    def __init__(self, language_dim: int, channels: int) -> None:
        super().__init__()
        self.project = nn.Linear(language_dim, 2 * channels)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, features: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.project(language).chunk(2, dim=-1)
        return features * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


class FiLMed(nn.Module):
    """A pretrained block followed by FiLM from the instruction, as RT-1 conditions its
    ImageNet-trained EfficientNet (FiLM starts as the identity, so the pretrained features pass
    through unchanged until training learns to modulate them)."""

    def __init__(self, block: nn.Module, channels: int, language_dim: int) -> None:
        super().__init__()
        self.block = block
        self.film = FiLM(language_dim, channels)

    def forward(self, x: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        return self.film(self.block(x), language)


def filmed(blocks: nn.ModuleList, language_dim: int) -> nn.ModuleList:
    """Each pretrained block (with a `channels` attribute) followed by FiLM from the instruction."""
    return nn.ModuleList(FiLMed(block, block.channels, language_dim) for block in blocks)


class SpatialSoftmax(nn.Module):
    """Where each of `keypoints` learned feature maps peaks: a 1x1 convolution to `keypoints`
    maps, a softmax over each map's positions, and the expected (x, y) under it, in [-1, 1]
    (Levine et al. 2016; robomimic's and Diffusion Policy's image pooling). Mean pooling keeps
    what is in a frame; this keeps where it is, which a grasp needs."""

    def __init__(self, channels: int, keypoints: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(channels, keypoints, 1)
        self.log_temperature = nn.Parameter(torch.zeros(()))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features (N, C, h, w) -> keypoint coordinates (N, 2 * keypoints), x then y of each."""
        maps = self.project(features)
        weights = torch.softmax(maps.flatten(2).float() / self.log_temperature.exp(), dim=-1)
        grid = image_coordinates(*maps.shape[2:], device=maps.device).flatten(1).T  # (h * w, 2)
        return (weights @ grid).flatten(1).to(features.dtype)


def image_coordinates(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """Each position's (x, y) in the [-1, 1] image frame, as a (2, height, width) map."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, height, device=device),
                            torch.linspace(-1, 1, width, device=device), indexing="ij")
    return torch.stack([xs, ys])


def with_coordinates(features: torch.Tensor) -> torch.Tensor:
    """Feature maps (N, C, h, w) with each position's (x, y) appended as two more channels
    (CoordConv, Liu et al. 2018): a pooling that sums over space then keeps where it looked."""
    grid = image_coordinates(*features.shape[2:], device=features.device).to(features.dtype)
    return torch.cat([features, grid.expand(features.shape[0], -1, -1, -1)], dim=1)


def conv_stem(width: int, activation: type[nn.Module]) -> nn.Sequential:
    """The stride-2 3x3 convolution both encoders start with."""
    return nn.Sequential(nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), activation())


def normalize_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W, 3) frames to float (..., 3, H, W), roughly zero-mean and unit-scale."""
    return (images.movedim(-1, -3).float() / 255.0 - 0.5) / 0.25


def random_shift(images: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image (N, 3, H, W) by up to `pad` pixels, edges replicated (DrQ's augmentation)."""
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), mode="replicate")
    shifts = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator, device=images.device)
    rows = (torch.arange(h, device=images.device)[None, :] + shifts[:, :1])  # (N, H)
    cols = (torch.arange(w, device=images.device)[None, :] + shifts[:, 1:])  # (N, W)
    index_rows = rows[:, None, :, None].expand(n, padded.shape[1], h, padded.shape[3])
    images = padded.gather(2, index_rows)
    index_cols = cols[:, None, None, :].expand(n, padded.shape[1], h, w)
    return images.gather(3, index_cols)


def jitter_brightness_contrast(images: torch.Tensor, amount: float, generator: torch.Generator) -> torch.Tensor:
    """Scale contrast and shift brightness of each normalized image (N, 3, H, W) by up to `amount`."""
    n = images.shape[0]
    gain = 1 + (torch.rand(n, 1, 1, 1, generator=generator, device=images.device) * 2 - 1) * amount
    offset = (torch.rand(n, 1, 1, 1, generator=generator, device=images.device) * 2 - 1) * amount * 4
    return images * gain + offset

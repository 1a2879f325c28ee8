"""What every learned baseline is: per-frame features conditioned on the instruction, then a
decision over a short history of them. The split lets a policy encode each new frame once and
keep the features of the past ones, and lets training run the same code on whole windows."""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from vla_bench.baselines.configuration import BaselineConfig


class BaselineModel(nn.Module):
    """Subclasses implement `encode_frames`, `decide`, `loss` and `to_actions`."""

    config_class: ClassVar[type[BaselineConfig]] = BaselineConfig

    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        # proprio statistics of the training data, saved with the weights
        self.register_buffer("proprio_mean", torch.zeros(config.proprio_dim))
        self.register_buffer("proprio_std", torch.ones(config.proprio_dim))

    def set_proprio_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.proprio_mean.copy_(mean)
        self.proprio_std.copy_(std.clamp_min(1e-3))

    def normalize_proprio(self, proprio: torch.Tensor) -> torch.Tensor:
        return (proprio - self.proprio_mean) / self.proprio_std

    def encode_frames(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        """images (N, cameras, 3, H, W) normalized, language (N, L) -> features (N, tokens, D)."""
        raise NotImplementedError

    def film_feature_maps(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        """Every camera's image through `self.stem` and the FiLM blocks `self.blocks` (each called as
        block(x, language)) -> feature maps (N * cameras, C, h, w)."""
        x = self.stem(images.flatten(0, 1))
        camera_language = language.repeat_interleave(images.shape[1], dim=0)
        for block in self.blocks:
            x = block(x, camera_language)
        return x

    def decide(self, features: torch.Tensor, proprio: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        """features (B, history, tokens, D), raw proprio (B, history, P), language (B, L) -> outputs
        (B, S, ...) for the last S steps of the window (S = history for a causal model, else 1)."""
        raise NotImplementedError

    def loss(self, outputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """outputs (B, S, ...) against the window's actions (B, history, A)."""
        raise NotImplementedError

    def to_actions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Outputs to the actions (B, action_dim) in [-1, 1] of each window's last step."""
        raise NotImplementedError

    def forward(self, images: torch.Tensor, proprio: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        """Whole windows: images (B, history, cameras, 3, H, W) -> outputs."""
        b, h = images.shape[:2]
        frame_language = language[:, None].expand(b, h, language.shape[-1]).reshape(b * h, -1)
        features = self.encode_frames(images.flatten(0, 1), frame_language)
        return self.decide(features.unflatten(0, (b, h)), proprio, language)

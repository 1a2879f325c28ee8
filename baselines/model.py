"""What every learned baseline is: per-frame features conditioned on the instruction, then a
decision over a short history of them, read out by one action head per domain. The split lets a
policy encode each new frame once and keep the features of the past ones, and lets training run
the same code on whole windows."""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from vla_bench.baselines.configuration import KEYPOINT_DIM, NAVIGATION_ACTIONS, PROPRIO_DIMS, BaselineConfig
from vla_bench.baselines.heads import ActionHead, ContinuousHead, DiscreteHead
from vla_bench.errors import UsageError

# keypoint offsets regressed at about unit scale: in decimetres across the table (manipulation's
# hand-to-object offsets), in metres across a house (navigation's base-to-goal offsets)
KEYPOINT_SCALES = {"manipulation": 10.0, "navigation": 1.0}


def compile_repeated_blocks(model: BaselineModel) -> None:
    """torch.compile each of the model's repeated blocks in place (state-dict keys unchanged)."""
    blocks = model.repeated_blocks()
    if not blocks:
        raise UsageError(f"{type(model).__name__} has no repeated blocks to compile (only rt2 and palme do)")
    for block in blocks:
        block.compile()


class BaselineModel(nn.Module):
    """Subclasses implement `encode_frames`, `decide` and `manipulation_head`, and call
    `build_domain_layers` once they know their widths."""

    config_class: ClassVar[type[BaselineConfig]] = BaselineConfig

    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        # proprio statistics of the training data per domain, saved with the weights
        self.register_buffer("proprio_mean", torch.zeros(len(config.domains), config.proprio_dim))
        self.register_buffer("proprio_std", torch.ones(len(config.domains), config.proprio_dim))

    def build_domain_layers(self, proprio_width: int | None, readout_width: int, frame_width: int) -> None:
        """Each domain's proprio projection (none for a model that does not read the proprio state:
        `proprio_width` None) and action head (and the keypoint head, when trained with one);
        `frame_width` is the size of one frame's features, flattened."""
        if proprio_width is not None:
            self.proprio_in = nn.ModuleDict({d: nn.Linear(PROPRIO_DIMS[d], proprio_width) for d in self.config.domains})
        self.heads = nn.ModuleDict({d: self.manipulation_head(readout_width) if d == "manipulation"
                                    else self.navigation_head(readout_width) for d in self.config.domains})
        regressing = any(isinstance(head, ContinuousHead) for head in self.heads.values())
        if self.config.regression_loss != "smooth_l1" and not regressing:
            raise UsageError(f"regression_loss={self.config.regression_loss!r} trains a continuous action head; "
                             f"{type(self).__name__}'s heads classify (bcz, palme and the ablation's continuous "
                             f"head regress)")
        if self.config.keypoint_weight > 0:
            width = frame_width if self.config.keypoint_input == "frame" else readout_width
            self.keypoint_head = nn.Linear(width, KEYPOINT_DIM)

    def manipulation_head(self, width: int) -> ActionHead:
        raise NotImplementedError

    def navigation_head(self, width: int) -> ActionHead:
        """Navigation's four moves, classified (regression has no meaning for them)."""
        return DiscreteHead(width, self.config.chunk, NAVIGATION_ACTIONS)

    def pretrained_keys(self) -> set[str]:
        """State-dict keys of frozen pretrained weights that load from their package, so that
        checkpoints hold only what was trained (none for a model trained from scratch)."""
        return set()

    def start_vision_from(self, donor: BaselineModel, source: str) -> None:
        """Copy a trained model's image encoder into this one (`train --vision-from`); only
        rt2 and palme take one."""
        raise UsageError(f"--vision-from starts rt2's and palme's FiLM-ResNet; {type(self).__name__} takes none")

    def repeated_blocks(self) -> list[nn.Module]:
        """Identical blocks that `train --compile` and `compile=true` compile: one compiled graph
        serves them all."""
        return []

    def domain_index(self, domain: str) -> int:
        return self.config.domains.index(domain)

    def set_proprio_statistics(self, domain: str, mean: torch.Tensor, std: torch.Tensor) -> None:
        index = self.domain_index(domain)
        self.proprio_mean[index].copy_(mean)
        self.proprio_std[index].copy_(std.clamp_min(1e-3))

    def embed_proprio(self, proprio: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        """Raw zero-padded proprio (B, ..., P) of episodes in domains `domain` (B,) -> (B, ..., width)."""
        shape = (-1, *[1] * (proprio.dim() - 2), proprio.shape[-1])
        normalized = (proprio - self.proprio_mean[domain].reshape(shape)) / self.proprio_std[domain].reshape(shape)
        out = 0
        for index, name in enumerate(self.config.domains):
            mask = (domain == index).reshape(-1, *[1] * (proprio.dim() - 1))
            out = out + torch.where(mask, self.proprio_in[name](normalized[..., :PROPRIO_DIMS[name]]), 0)
        return out

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

    def decide(self, features: torch.Tensor, proprio: torch.Tensor, language: torch.Tensor,
               domain: torch.Tensor) -> torch.Tensor:
        """features (B, history, tokens, D), raw proprio (B, history, P), language (B, L), domain (B,)
        -> readouts (B, S, width) for the last S steps of the window (S = history for a causal model, else 1)."""
        raise NotImplementedError

    def encode_window(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        """Whole windows: images (B, history, cameras, 3, H, W), language (B, L) -> features
        (B, history, tokens, D)."""
        b, h = images.shape[:2]
        frame_language = language[:, None].expand(b, h, language.shape[-1]).reshape(b * h, -1)
        return self.encode_frames(images.flatten(0, 1), frame_language).unflatten(0, (b, h))

    def forward(self, images: torch.Tensor, proprio: torch.Tensor, language: torch.Tensor,
                domain: torch.Tensor) -> torch.Tensor:
        """Whole windows: images (B, history, cameras, 3, H, W) -> readouts (B, S, width)."""
        return self.decide(self.encode_window(images, language), proprio, language, domain)

    def loss(self, readouts: torch.Tensor, targets: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        """readouts (B, S, width) against the action chunks (B, history, chunk, A) that follow each
        step of the window, of which the last S count; the mean over the batch of each sample's
        domain head loss."""
        targets = targets[:, -readouts.shape[1]:]  # a model that reads out only the last step (S = 1)
        total = readouts.new_zeros((), dtype=torch.float32)
        for index, name in enumerate(self.config.domains):
            mask = domain == index
            if mask.any():
                head = self.heads[name]
                outputs = head(readouts[mask]).flatten(0, 1)
                total = total + head.loss(outputs, targets[mask].flatten(0, 1)) * mask.float().mean()
        return total

    def keypoints(self, readouts: torch.Tensor, features: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        """The keypoint head's offsets (B, K), in metres, at the window's last step, from its
        readout (B, S, width) or its newest frame's features (B, history, tokens, D)."""
        return self._keypoint_units(readouts, features) / self._keypoint_scale(domain)

    def _keypoint_units(self, readouts: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        read = features[:, -1].flatten(1) if self.config.keypoint_input == "frame" else readouts[:, -1]
        return self.keypoint_head(read).float()

    def _keypoint_scale(self, domain: torch.Tensor) -> torch.Tensor:
        scales = torch.tensor([KEYPOINT_SCALES[d] for d in self.config.domains], device=domain.device)
        return scales[domain][:, None]

    def keypoint_loss(self, readouts: torch.Tensor, features: torch.Tensor, keypoints: torch.Tensor,
                      has_keypoints: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        """The auxiliary loss: mean squared error, at each domain's scale, of the keypoint offsets
        (B, K) over the samples (B,) whose demonstration has them."""
        if not has_keypoints.any():
            return readouts.new_zeros((), dtype=torch.float32)
        predicted = self._keypoint_units(readouts[has_keypoints], features[has_keypoints])
        return F.mse_loss(predicted, keypoints[has_keypoints] * self._keypoint_scale(domain[has_keypoints]))

    def keypoint_error_cm(self, readouts: torch.Tensor, features: torch.Tensor, keypoints: torch.Tensor,
                          has_keypoints: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        """Mean distance, in centimetres, between predicted and true keypoints (what training reports)."""
        predicted = self.keypoints(readouts[has_keypoints], features[has_keypoints], domain[has_keypoints])
        error = (predicted - keypoints[has_keypoints]).unflatten(-1, (-1, 3)).norm(dim=-1)
        return 100 * error.mean()

    def predict(self, readouts: torch.Tensor, domain: str) -> torch.Tensor:
        """The last step's readouts (B, width) of one domain's samples -> their distributions over
        their action chunks (B, chunk, ...)."""
        head = self.heads[domain]
        return head.distribution(head(readouts))


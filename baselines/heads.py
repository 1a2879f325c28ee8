"""Action heads: a readout vector -> a chunk of future actions, in the three forms the baselines use.

Every head maps (..., width) to `chunk` predictions and gives, per prediction, a *distribution*
that temporal ensembling can average (values for regression, probabilities for classification)
and `decode` turns an averaged distribution into the action the environment takes.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ActionHead(nn.Module):
    """Subclasses set `self.shape` (the output per chunk step) and implement the methods below."""

    def __init__(self, width: int, chunk: int, shape: tuple[int, ...], project: nn.Module | None = None) -> None:
        """`project` maps (..., width) to (..., chunk * prod(shape)); a linear layer unless given."""
        super().__init__()
        self.chunk, self.shape = chunk, shape
        self.project = project if project is not None else nn.Linear(width, chunk * int(torch.tensor(shape).prod()))

    def forward(self, readout: torch.Tensor) -> torch.Tensor:
        """(..., width) -> (..., chunk, *shape)."""
        return self.project(readout).unflatten(-1, (self.chunk, *self.shape))

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """outputs (N, chunk, *shape) against targets (N, chunk, action_dim): a mean over N."""
        raise NotImplementedError

    def distribution(self, outputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, distribution: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ContinuousHead(ActionHead):
    """Regression of actions in [-1, 1] (BC-Z), by smooth L1 (robust to the expert's rare jumps;
    it predicts the median) or mean squared error (the mean; its gradient grows with the miss)."""

    def __init__(self, width: int, chunk: int, action_dim: int, project: nn.Module | None = None,
                 regression_loss: str = "smooth_l1") -> None:
        super().__init__(width, chunk, (action_dim,), project)
        self.regression_loss = regression_loss

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.regression_loss == "mse":
            return F.mse_loss(outputs.float(), targets)
        return F.smooth_l1_loss(outputs.float(), targets, beta=0.1)

    def distribution(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.float()

    def decode(self, distribution: torch.Tensor) -> torch.Tensor:
        return distribution.clamp(-1, 1)


class BinnedHead(ActionHead):
    """Each action dimension as one of `bins` uniform bins over [-1, 1] (RT-1's action tokens)."""

    def __init__(self, width: int, chunk: int, action_dim: int, bins: int, project: nn.Module | None = None) -> None:
        super().__init__(width, chunk, (action_dim, bins), project)
        self.bins = bins

    def to_bins(self, actions: torch.Tensor) -> torch.Tensor:
        return ((actions.clamp(-1, 1) + 1) / 2 * (self.bins - 1)).round().long()

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs.flatten(0, -2).float(), self.to_bins(targets).flatten())

    def distribution(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.float().softmax(dim=-1)

    def decode(self, distribution: torch.Tensor) -> torch.Tensor:
        return distribution.argmax(dim=-1).float() / (self.bins - 1) * 2 - 1

    def expected(self, distribution: torch.Tensor) -> torch.Tensor:
        """The distribution's mean action, where `decode` takes its most probable bin: one bin
        that holds a narrow spike (the expert's exact zeros, its clipped ±1) outvotes a mass spread
        over many neighbouring bins under argmax, not under the mean."""
        centres = torch.linspace(-1, 1, self.bins, device=distribution.device)
        return distribution @ centres


class DiscreteHead(ActionHead):
    """One of `choices` actions (navigation's moves); targets hold the index in their first column."""

    def __init__(self, width: int, chunk: int, choices: int, project: nn.Module | None = None) -> None:
        super().__init__(width, chunk, (choices,), project)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs.flatten(0, -2).float(), targets[..., 0].round().long().flatten())

    def distribution(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.float().softmax(dim=-1)

    def decode(self, distribution: torch.Tensor) -> torch.Tensor:
        return distribution.argmax(dim=-1)

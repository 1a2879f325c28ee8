"""Temporal ensembling over a batch of episodes at different steps equals ACT's average, made
one episode at a time."""
import math

import torch

from vla_bench.baselines.policy import ENSEMBLE_DECAY, TemporalEnsemble, _pushed

CHUNK = 4


def _act_average(chunks: list[torch.Tensor]) -> torch.Tensor:
    """ACT: every earlier chunk's prediction for this step, the i-th oldest weighted exp(-m i)."""
    made = [chunk[len(chunks) - 1 - at] for at, chunk in enumerate(chunks) if len(chunks) - 1 - at < CHUNK]
    weights = [math.exp(-ENSEMBLE_DECAY * i) for i in range(len(made))]
    return sum(w * m for w, m in zip(weights, made)) / sum(weights)


def test_a_batch_of_episodes_at_different_steps_gets_each_its_own_average():
    ensemble = TemporalEnsemble(CHUNK, torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    starts = [0, 1, 3, 6]  # the step at which each episode joins the batch
    chunks: list[list[torch.Tensor]] = [[] for _ in starts]
    windows: list[torch.Tensor | None] = [None] * len(starts)
    for step in range(10):
        rows = [i for i, start in enumerate(starts) if step >= start]
        new = torch.rand(len(rows), CHUNK, 7, 3, generator=generator)
        batch = _pushed([windows[i] for i in rows], new, lambda chunk: chunk.new_zeros(CHUNK, *chunk.shape))
        averaged = ensemble(batch, [step - starts[i] + 1 for i in rows])
        for row, i in enumerate(rows):
            chunks[i].append(new[row])
            windows[i] = batch[row]
            assert torch.allclose(averaged[row], _act_average(chunks[i][-CHUNK:]), atol=1e-6)

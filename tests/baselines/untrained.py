"""What a few CPU training steps are measured against: the same model as it starts, and the loss
over a fixed set of frames, so a test reads what training learned rather than which small
batches it happened to draw last."""
import torch

from vla_bench.baselines import make_model
from vla_bench.baselines.data import load_demonstrations
from vla_bench.baselines.train import validate


def untrained_twin(name: str, trained: torch.nn.Module, **overrides) -> torch.nn.Module:
    """`make_model(name, **overrides)` freshly initialized, reading proprioception as `trained` does
    (training sets those statistics from its data before the first step)."""
    torch.manual_seed(0)
    untrained = make_model(name, **overrides).eval()
    untrained.load_state_dict({k: v for k, v in trained.state_dict().items() if k.startswith("proprio_")},
                              strict=False)
    return untrained


def loss_on_every_frame(model: torch.nn.Module, dataset, domain: int | None = None) -> float:
    """The action loss over all of the dataset's frames (of one domain's, given its index)."""
    demos = load_demonstrations(dataset, model.config, processes=1)
    frames = torch.arange(len(demos)) if domain is None else (demos.domain == domain).nonzero().flatten()
    assert len(frames), f"no frames of domain {domain}"
    with torch.no_grad():
        return validate(model, demos, frames, batch_size=64)[0]

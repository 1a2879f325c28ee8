"""What a few CPU training steps are measured by, on a fixed set of frames so that a test reads
what training learned rather than which small batches it happened to draw last: the action loss
beside the same model as it starts, and how well the keypoint head places the keypoints."""
import torch

from vla_bench.baselines import make_model
from vla_bench.baselines.data import Demonstrations
from vla_bench.baselines.layers import normalize_images
from vla_bench.baselines.train import validate


def untrained_twin(name: str, trained: torch.nn.Module, **overrides) -> torch.nn.Module:
    """`make_model(name, **overrides)` freshly initialized, reading proprioception as `trained` does
    (training sets those statistics from its data before the first step)."""
    torch.manual_seed(0)
    untrained = make_model(name, **overrides).eval()
    untrained.load_state_dict({k: v for k, v in trained.state_dict().items() if k.startswith("proprio_")},
                              strict=False)
    return untrained


def loss_on_every_frame(model: torch.nn.Module, demos: Demonstrations, domain: int | None = None) -> float:
    """The action loss over all of the demonstrations' frames (of one domain's, given its index)."""
    frames = torch.arange(len(demos)) if domain is None else (demos.domain == domain).nonzero().flatten()
    assert len(frames), f"no frames of domain {domain}"
    with torch.no_grad():
        return validate(model, demos, frames, batch_size=64)[0]


def keypoint_error_shares(model: torch.nn.Module, demos: Demonstrations) -> dict[str, float]:
    """Per domain, the keypoint head's mean error over that of placing every frame's keypoints at
    their mean offset: below 1, the head reads them from its inputs rather than learning a constant."""
    shares = {}
    for index, domain in enumerate(model.config.domains):  # the hand's targets; the base's goals
        frames = (demos.has_keypoints & (demos.domain == index)).nonzero().flatten()
        assert len(frames), domain
        batch = demos.window(frames, model.config.history, model.config.chunk)
        with torch.no_grad():
            features = model.encode_window(normalize_images(batch["images"]), batch["language"])
            readouts = model.decide(features, batch["proprio"], batch["language"], batch["domain"])
            error = model.keypoint_error_cm(readouts, features, batch["keypoints"], batch["has_keypoints"],
                                            batch["domain"]).item()
        truth = batch["keypoints"].unflatten(-1, (-1, 3))
        shares[domain] = error / (100 * (truth - truth.mean(0)).norm(dim=-1).mean().item())
    return shares

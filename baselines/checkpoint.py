"""Checkpoints as safetensors: the weights, plus the model name, its configuration and how it
was trained in the file's metadata, so loading needs nothing but the file (and runs no pickle)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from vla_bench.baselines.model import BaselineModel
from vla_bench.baselines.registry import model_class
from vla_bench.errors import UsageError
from vla_bench.results import written_whole


def pick_device(name: str) -> torch.device:
    """`auto` is the GPU when there is one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def save_checkpoint(path: Path, name: str, model: BaselineModel, training: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # parameters in bfloat16 (half the file; loading copies them back into float32), statistics in
    # float32; frozen pretrained weights stay out (they load from their package)
    parameters = {name for name, _ in model.named_parameters()}
    pretrained = model.pretrained_keys()
    tensors = {k: (v.to(torch.bfloat16) if k in parameters else v).detach().cpu().contiguous()
               for k, v in model.state_dict().items() if k not in pretrained}
    metadata = {"model": name, "config": json.dumps(model.config.to_dict()), "training": json.dumps(training)}
    with written_whole(path) as partial:  # a run killed while saving keeps its previous checkpoint
        save_file(tensors, str(partial), metadata=metadata)
    return path


def load_checkpoint(path: Path, device: str = "cpu") -> tuple[str, BaselineModel, dict[str, Any]]:
    """(model name, model in eval mode, training metadata)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        cls = model_class(metadata["model"])
        model = cls(cls.config_class.from_dict(json.loads(metadata["config"])))
        missing, unexpected = model.load_state_dict(load_file(str(path), device="cpu"), strict=False)
        missing = set(missing) - model.pretrained_keys()
        if missing or unexpected:
            raise ValueError(f"missing keys {sorted(missing)[:5]}, unexpected keys {sorted(unexpected)[:5]}")
    except UsageError:
        raise
    except Exception as err:  # truncated, not safetensors, or not one of ours
        raise UsageError(f"{path} is not a loadable vla-bench checkpoint ({type(err).__name__}: {err}); "
                         "train one with `vla-bench train` or use the shipped one") from err
    return metadata["model"], model.to(torch.device(device)).eval(), json.loads(metadata.get("training", "{}"))

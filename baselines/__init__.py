"""Learned baselines (RT-1 and BC-Z style): one folder each, their training and their shipped
checkpoints. Importing this package needs no PyTorch; the models, training and the policies do
(`pip install 'vla-bench[baselines]'`)."""
from vla_bench.baselines.configuration import BaselineConfig
from vla_bench.baselines.registry import (
    BaselineEntry,
    baseline_entry,
    baseline_names,
    make_model,
    model_class,
    register_baseline,
    shipped_checkpoint,
)

__all__ = ["BaselineConfig", "BaselineEntry", "baseline_entry", "baseline_names", "make_model", "model_class",
           "register_baseline", "shipped_checkpoint"]

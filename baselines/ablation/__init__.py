"""The design-space model (issue 11's menu): one model whose encoder, language fusion and action
head are each a configuration choice, with named variants that differ from the base in one choice."""
from vla_bench.baselines.ablation.configuration import AblationConfig

__all__ = ["AblationConfig"]

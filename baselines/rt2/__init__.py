"""RT-2 style policy (Brohan et al. 2023): a pretrained language model that emits actions as its own vocabulary's tokens."""
from vla_bench.baselines.rt2.configuration import RT2Config

__all__ = ["RT2Config"]

"""RT-1 style policy (Brohan et al. 2022), sized to train on one GPU in minutes."""
from vla_bench.baselines.rt1.configuration import RT1Config

__all__ = ["RT1Config"]

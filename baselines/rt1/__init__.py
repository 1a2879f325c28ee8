"""RT-1 style policy (Brohan et al. 2022), sized to train on one GPU in minutes."""
from vla_bench.baselines.rt1.configuration import RT1Config
from vla_bench.baselines.rt1.modeling import RT1

__all__ = ["RT1", "RT1Config"]

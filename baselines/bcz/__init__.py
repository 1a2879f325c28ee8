"""BC-Z style policy (Jang et al. 2022): FiLM-ResNet-18 on the front camera, continuous actions."""
from vla_bench.baselines.bcz.configuration import BCZConfig

__all__ = ["BCZConfig"]

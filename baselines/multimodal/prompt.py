"""Instructions as RT-2 prompts its model, in SmolLM2's tokens."""
from __future__ import annotations

import numpy as np

PROMPT = "What action should the robot take to {}?"


def prompt(instruction: str) -> str:
    """'Pick up the red mug.' -> 'What action should the robot take to pick up the red mug?'"""
    text = instruction.strip().rstrip(".")
    return PROMPT.format(text[:1].lower() + text[1:])


class PromptEncoder:
    """Each instruction's prompt as a row of `length` token ids, padded with the tokenizer's pad id."""

    def __init__(self, length: int) -> None:
        self.length = length
        self._tokenizer = None

    def load(self) -> None:
        if self._tokenizer is None:
            from vla_bench.baselines.pretrained.smollm2 import load_tokenizer

            self._tokenizer = load_tokenizer(self.length)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.load()
        return self._tokenizer.encode_padded([prompt(t) for t in texts])


class PromptAndSentenceEncoder:
    """Each instruction as one float32 row: its prompt's `length` token ids (exact in float32, the
    vocabulary being far below 2**24), then all-MiniLM-L6-v2's sentence embedding, for a model
    whose language model reads the ids and whose FiLM reads the embedding (`film_language`).
    One row keeps the demonstrations' and the policies' single `language` input."""

    def __init__(self, length: int) -> None:
        from vla_bench.baselines.language import SentenceEncoder

        self._prompt, self._sentence = PromptEncoder(length), SentenceEncoder()

    def load(self) -> None:
        self._prompt.load()
        self._sentence.load()

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.concatenate([self._prompt.encode(texts).astype(np.float32), self._sentence.encode(texts)], axis=1)

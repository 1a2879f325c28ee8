"""The instruction every task observation carries: its character set and its Gymnasium space.

The space is a `Text` of its own type because Gymnasium's async vector path loses `Text`
observations: `AsyncVectorEnv.__init__` calls `read_from_shared_memory` once and keeps what it
returns as the batch every later reset and step hands out, which works for the numpy views a Box
gets, but a `Text` read decodes into a tuple of str at that moment (from zeroed memory, so every
instruction read back as 256 blanks). `InstructionSpace` reads into `SharedInstructions`, a view
that decodes the shared memory whenever it is read or copied.
"""
from __future__ import annotations

import multiprocessing as mp
import string
from collections.abc import Iterator, Sequence
from multiprocessing.sharedctypes import SynchronizedArray
from types import ModuleType

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

INSTRUCTION_CHARSET = frozenset(string.ascii_letters + string.digits + " ,.'-")
MAX_INSTRUCTION_LENGTH = 256


class InstructionSpace(gym.spaces.Text):
    """A `Text` whose batch in AsyncVectorEnv's shared memory stays current (see the module docstring)."""


class SharedInstructions(Sequence[str]):
    """The instructions of a vector env's sub-envs, decoded from shared memory on every read.

    Like the numpy views Gymnasium returns for a Box, it shows what the workers wrote last.
    Copies and pickles are plain tuples of str: what `AsyncVectorEnv(copy=True)`, the default,
    returns from each reset and step, as the sync vector env does.
    """

    def __init__(self, space: InstructionSpace, codes: np.ndarray) -> None:
        self._space = space
        self._codes = codes  # (num_envs, max_length) character indices, shared with the workers

    def __len__(self) -> int:
        return len(self._codes)

    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self._decode()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decode())

    def __eq__(self, other: object) -> bool:
        return self._decode() == other

    def __repr__(self) -> str:
        return f"SharedInstructions{self._decode()!r}"

    def __reduce__(self) -> tuple[type[tuple], tuple[tuple[str, ...]]]:
        return tuple, (self._decode(),)

    def _decode(self) -> tuple[str, ...]:
        return tuple(gym.spaces.unflatten(self._space, row) for row in self._codes)


def instruction_space() -> InstructionSpace:
    """The `instruction` observation's space."""
    return InstructionSpace(MAX_INSTRUCTION_LENGTH, charset=INSTRUCTION_CHARSET)


# The shared memory layout, in one place: one row of `max_length` int32 character indices per
# sub-env, as `gym.spaces.flatten` encodes a Text (padded with len(charset)) and `unflatten` decodes.
@create_shared_memory.register(InstructionSpace)
def _create_instruction_memory(space: InstructionSpace, n: int = 1, ctx: ModuleType = mp) -> SynchronizedArray:
    return ctx.Array(np.dtype(np.int32).char, n * space.max_length)


@write_to_shared_memory.register(InstructionSpace)
def _write_instruction(space: InstructionSpace, index: int, value: str, shared_memory: SynchronizedArray) -> None:
    _rows(space, shared_memory)[index] = gym.spaces.flatten(space, value)


@read_from_shared_memory.register(InstructionSpace)
def _read_instructions(space: InstructionSpace, shared_memory: SynchronizedArray, n: int = 1) -> SharedInstructions:
    return SharedInstructions(space, _rows(space, shared_memory))


def _rows(space: InstructionSpace, shared_memory: SynchronizedArray) -> np.ndarray:
    return np.frombuffer(shared_memory.get_obj(), dtype=np.int32).reshape(-1, space.max_length)

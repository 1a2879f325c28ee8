"""The instruction every task observation carries: its character set and its Gymnasium space."""
from __future__ import annotations

import string

import gymnasium as gym

INSTRUCTION_CHARSET = frozenset(string.ascii_letters + string.digits + " ,.'-")
MAX_INSTRUCTION_LENGTH = 256


def instruction_space() -> gym.spaces.Text:
    """The `instruction` observation's space."""
    return gym.spaces.Text(MAX_INSTRUCTION_LENGTH, charset=INSTRUCTION_CHARSET)

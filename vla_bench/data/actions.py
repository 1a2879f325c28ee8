"""How each domain's action is stored in a dataset.

Manipulation's 7-D end-effector delta is stored as it is. Navigation's discrete move is stored as
a one-hot vector over `MOVES`: LeRobot keeps an action of one number as a scalar column, which its
policies, built for vector actions, cannot train on (ACT fails on it), while a policy that
regresses the one-hot vector acts by its largest entry.
"""
from __future__ import annotations

import numpy as np

MOVES = ("stop", "forward", "turn_left", "turn_right")  # navigation's action indices, in order


def stored_action(action, domain: str) -> np.ndarray:
    """An action as a dataset stores it (float64 here; the file keeps float32)."""
    if domain == "navigation":
        return np.eye(len(MOVES))[int(action)]
    return np.atleast_1d(np.asarray(action, dtype=np.float64))


def move_indices(actions: np.ndarray) -> np.ndarray:
    """Stored navigation actions (T, 4) -> the moves' indices (T, 1); datasets that stored the index
    itself (T, 1), as vla-bench's v2.1 ones did, pass through."""
    actions = np.asarray(actions)
    if actions.shape[1] == 1:
        return actions
    return np.argmax(actions, axis=1)[:, None].astype(actions.dtype)

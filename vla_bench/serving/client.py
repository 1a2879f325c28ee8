"""`--policy ws://HOST:PORT`: a policy served over WebSocket in openpi's protocol.

The protocol (openpi's `WebsocketPolicyServer`): on connect the server sends its metadata; then
each binary frame the client sends is one observation (a msgpack-numpy map) and the server
answers with one map holding `actions`, or with a text frame (a traceback) before it closes the
connection with code 1011.

Episode boundaries, which the protocol lacks: with a profile whose `episode_keys` is true (the
suite's own), every observation also carries `vla_bench/episode_id`, `vla_bench/task` and
`vla_bench/episode_seed`, and the first of an episode `vla_bench/episode_start: true`;
`vla-bench serve` calls its policy's `reset` on it. Servers that keep no state (openpi's act on
each observation alone) can ignore the keys, and profiles for them leave the keys out.
"""
from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

import numpy as np

from vla_bench.errors import UsageError
from vla_bench.policy.base import Policy, TaskInfo
from vla_bench.serving.profiles import load_profile
from vla_bench.serving.wire import WireError, pack, unpack

EPISODE_KEYS = ("vla_bench/episode_id", "vla_bench/task", "vla_bench/episode_seed", "vla_bench/episode_start")
RECONNECT_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)  # between tries after a disconnect; then the episode fails
MAX_MESSAGE_BYTES = 64 * 2**20


class ServerUnreachable(UsageError):
    """No policy server answers at the address (exit status 2 at the start of a run)."""


class RemoteError(RuntimeError):
    """The server failed on an observation, lost the connection, or sent something unreadable."""


class RemotePolicy(Policy):
    """The policy behind a `ws://` or `wss://` address, through a profile (`profile=NAME|FILE`)."""

    action_mode = ("ee_delta", "discrete")
    runs_elsewhere = True

    def __init__(self, url: str, profile: str = "vla_bench", connect_timeout: float = 10.0) -> None:
        self.url, self.profile = url, load_profile(profile)
        self.connect_timeout = connect_timeout
        self._connection = None
        self._open = ExitStack()  # the connection's context (websockets wants one)
        self._given_up = False  # a whole round of reconnection tries failed
        self._episode: dict[str, Any] = {}
        self.server_metadata = self._connect()

    def _connect(self) -> dict[str, Any]:
        from websockets.exceptions import InvalidHandshake, InvalidURI
        from websockets.sync.client import connect

        try:
            self._connection = self._open.enter_context(connect(
                self.url, compression=None, max_size=MAX_MESSAGE_BYTES, open_timeout=self.connect_timeout,
                close_timeout=1))
            return unpack(self._connection.recv(timeout=self.connect_timeout), "server metadata")
        except (OSError, TimeoutError, InvalidURI, InvalidHandshake, WireError) as err:
            self._drop()
            raise ServerUnreachable(f"no policy server at {self.url}: {type(err).__name__}: {err}") from err

    def _reconnect(self) -> None:
        """After a disconnect: try again with growing pauses, then give up on this episode. Once a
        round of tries has failed, later episodes try once each (a server that is gone for good
        should not cost every remaining episode the whole round)."""
        delays = (0.0,) if self._given_up else (0.0, *RECONNECT_DELAYS_S)
        for delay in delays:
            time.sleep(delay)
            try:
                self.server_metadata = self._connect()
                self._given_up = False
                return
            except ServerUnreachable as err:
                last = err
        self._given_up = True
        raise RemoteError(f"lost the policy server at {self.url} and could not reconnect: {last}")

    def _connected(self) -> bool:
        from websockets.protocol import State

        return self._connection is not None and self._connection.protocol.state is State.OPEN

    def reset(self, instruction: str, task: TaskInfo) -> None:
        if not self._connected():  # dropped, or closed by the server between episodes
            self._drop()
            self._reconnect()
        self._episode = {"vla_bench/episode_id": task.episode_id, "vla_bench/task": task.task,
                         "vla_bench/episode_seed": int(task.episode_seed), "vla_bench/episode_start": True}

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        from websockets.exceptions import ConnectionClosed

        if self._connection is None:
            raise RemoteError(f"not connected to the policy server at {self.url}")
        message = self.profile.encode(observation)
        if self.profile.episode_keys:
            message.update(self._episode)
            self._episode["vla_bench/episode_start"] = False
        try:
            self._connection.send(pack(message))
            reply = self._connection.recv()
        except ConnectionClosed as err:
            self._drop()
            raise RemoteError(f"the policy server at {self.url} closed the connection ({err})") from err
        if isinstance(reply, str):  # openpi's servers send the traceback as text, then close
            self._drop()
            lines = [line for line in reply.strip().splitlines() if line.strip()]
            raise RemoteError(f"the policy server failed: {lines[-1] if lines else 'no message'}")
        try:
            return self.profile.decode(unpack(reply, "reply"), observation)
        except (WireError, ValueError) as err:
            raise RemoteError(f"unreadable reply from {self.url}: {err}") from err

    def _drop(self) -> None:
        self._open.close()
        self._connection = None

    def close(self) -> None:
        self._drop()


def remote_policy_class(profile: str) -> type[RemotePolicy]:
    """RemotePolicy declaring the observations its profile reads: tasks without them (navigation
    for the `libero` profile, which needs a wrist camera) are left out of a run, not failed."""
    read = load_profile(profile).observation
    keys = tuple(dict.fromkeys(e.source for e in read if e.source != "instruction")) or None
    return type(RemotePolicy.__name__, (RemotePolicy,), {"observation_keys": keys, "__doc__": RemotePolicy.__doc__,
                                                          "__module__": RemotePolicy.__module__})

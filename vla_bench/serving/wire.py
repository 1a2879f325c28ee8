"""openpi's wire format: msgpack, with numpy arrays and scalars as tagged maps.

Byte-compatible with openpi-client's `msgpack_numpy` (the format every openpi policy server and
client speaks): an array travels as {b"__ndarray__": True, b"data", b"dtype", b"shape"}, a numpy
scalar as {b"__npgeneric__": True, b"data", b"dtype"}. Object, void and complex arrays are
refused rather than pickled, as there.
"""
from __future__ import annotations

from typing import Any

import msgpack
import numpy as np


class WireError(ValueError):
    """A message that is not valid msgpack-numpy, or not the dict the protocol expects."""


def _encode(obj: Any) -> Any:
    if isinstance(obj, (np.ndarray, np.generic)) and obj.dtype.kind in ("V", "O", "c"):
        raise WireError(f"cannot send numpy dtype {obj.dtype} (only numbers, booleans and strings travel)")
    if isinstance(obj, np.ndarray):
        return {b"__ndarray__": True, b"data": np.ascontiguousarray(obj).tobytes(), b"dtype": obj.dtype.str,
                b"shape": obj.shape}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    return obj


def _decode(obj: dict) -> Any:
    if b"__ndarray__" in obj:
        return np.ndarray(buffer=obj[b"data"], dtype=np.dtype(obj[b"dtype"]), shape=obj[b"shape"])
    if b"__npgeneric__" in obj:
        return np.dtype(obj[b"dtype"]).type(obj[b"data"])
    return obj


def pack(message: Any) -> bytes:
    return msgpack.packb(message, default=_encode)


def unpack(data: bytes, what: str = "message") -> dict[str, Any]:
    """The dict a frame holds, or WireError naming `what` was garbled."""
    try:
        message = msgpack.unpackb(data, object_hook=_decode)
    except Exception as err:  # msgpack raises several unrelated types for corrupt input
        raise WireError(f"garbled {what} ({len(data)} bytes): {type(err).__name__}: {err}") from err
    if not isinstance(message, dict):
        raise WireError(f"{what} is a msgpack {type(message).__name__}, not a map")
    return message

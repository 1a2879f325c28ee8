"""The msgpack-numpy codec: byte-compatible with openpi-client's, and strict about bad input."""
import msgpack
import numpy as np
import pytest

from vla_bench.serving.wire import WireError, pack, unpack


def test_arrays_scalars_and_strings_round_trip():
    message = {"image": np.arange(12, dtype=np.uint8).reshape(2, 2, 3), "state": np.float32(0.5),
               "prompt": "pick up the red cube", "nested": {"chunk": np.zeros((4, 7), np.float64)}}
    back = unpack(pack(message))
    assert back["prompt"] == "pick up the red cube"
    assert back["image"].dtype == np.uint8 and np.array_equal(back["image"], message["image"])
    assert back["state"] == np.float32(0.5) and back["state"].dtype == np.float32
    assert back["nested"]["chunk"].shape == (4, 7)


def test_arrays_travel_as_openpis_tagged_maps():
    """What openpi's msgpack_numpy.unpack_array reads: the exact keys and their types."""
    raw = msgpack.unpackb(pack({"a": np.array([[1, 2]], dtype=np.int16)}))["a"]
    assert raw == {b"__ndarray__": True, b"data": np.array([[1, 2]], np.int16).tobytes(), b"dtype": "<i2",
                   b"shape": [1, 2]}
    scalar = msgpack.unpackb(pack({"s": np.int64(3)}))["s"]
    assert scalar == {b"__npgeneric__": True, b"data": 3, b"dtype": "<i8"}


def test_object_arrays_are_refused_not_pickled():
    with pytest.raises(WireError, match="dtype object"):
        pack({"x": np.array([{"a": 1}], dtype=object)})


@pytest.mark.parametrize("data", [b"\xc1\xff\x00", b"", msgpack.packb([1, 2, 3])])
def test_garbled_or_non_map_frames_say_so(data):
    with pytest.raises(WireError, match="reply"):
        unpack(data, "reply")

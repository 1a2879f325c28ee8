"""A policy server written as openpi's `WebsocketPolicyServer` is, on openpi-client's own
`msgpack_numpy`: run with the Python of a virtual environment that has `openpi-client`
installed (it pins numpy < 2, so it cannot share the suite's). Serves a LIBERO-style policy: it
checks it gets openpi's LIBERO keys and answers chunks of 10 actions in LIBERO's conventions
that move the hand towards a fixed point with the gripper open (-1).

    python openpi_style_server.py PORT
"""
import asyncio
import sys
import traceback

import numpy as np
import websockets.asyncio.server
import websockets.frames
from openpi_client import msgpack_numpy

TARGET = np.array([0.5, 0.1, 0.15])


def infer(obs: dict) -> dict:
    image, wrist, state = obs["observation/image"], obs["observation/wrist_image"], obs["observation/state"]
    assert image.shape == (224, 224, 3) and image.dtype == np.uint8, image.shape
    assert wrist.shape == (224, 224, 3), wrist.shape
    assert state.shape == (8,), state.shape
    assert isinstance(obs["prompt"], str) and obs["prompt"]
    step = np.clip((TARGET - state[:3]) / 0.05, -1, 1)
    return {"actions": np.tile(np.concatenate([step, np.zeros(3), [-1.0]]), (10, 1))}


async def handler(websocket):
    packer = msgpack_numpy.Packer()
    await websocket.send(packer.pack({"server": "openpi-style"}))
    while True:
        try:
            obs = msgpack_numpy.unpackb(await websocket.recv())
            await websocket.send(packer.pack(infer(obs)))
        except websockets.ConnectionClosed:
            break
        except Exception:
            await websocket.send(traceback.format_exc())
            await websocket.close(code=websockets.frames.CloseCode.INTERNAL_ERROR,
                                  reason="Internal server error. Traceback included in previous frame.")
            raise


async def main(port: int) -> None:
    async with websockets.asyncio.server.serve(handler, "127.0.0.1", port, compression=None, max_size=None) as server:
        print(f"listening on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

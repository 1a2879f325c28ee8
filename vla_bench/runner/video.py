"""MP4 videos of episodes, with the instruction written on the frames, and the step traces
recorded beside them (what `vla-bench audit` reads)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vla_bench.results import written_whole

VIDEO_SIZE = 256  # pixels: frames are upscaled so the caption stays legible
DEFAULT_FPS = 10  # manipulation's control rate, for callers that do not know the episode's


def caption(frame: np.ndarray, text: str) -> np.ndarray:
    """Upscale a frame and write `text` in a band at its top."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame).resize((VIDEO_SIZE, VIDEO_SIZE), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, VIDEO_SIZE, 28], fill=(0, 0, 0))
    words, lines = text.split(), [""]
    for word in words:  # wrap to two short lines
        if len(lines[-1]) + len(word) > 40:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    draw.multiline_text((4, 2), "\n".join(lines[:2]), fill=(255, 255, 255), spacing=1)
    return np.asarray(image)


def write_video(path: Path, frames: list[np.ndarray], text: str, fps: float | None = None) -> Path:
    """Frames at `fps`: the episode's control rate (steps per simulated second), so the video
    plays in real time in either domain."""
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, fps=fps or DEFAULT_FPS, codec="libx264", quality=7, macro_block_size=16) as writer:
        for frame in frames:
            writer.append_data(caption(frame, text))
    return path


def check_mp4_writer() -> None:
    """Fail before a run starts, in one line, when this machine cannot write MP4 (imageio picks
    another format when imageio-ffmpeg is missing and every video would then fail)."""
    import tempfile

    import imageio.v2 as imageio

    from vla_bench.errors import UsageError

    with tempfile.TemporaryDirectory() as folder:
        try:
            write_video(Path(folder) / "check.mp4", [np.zeros((16, 16, 3), np.uint8)] * 2, "check")
            imageio.get_reader(Path(folder) / "check.mp4").get_meta_data()
        except Exception as err:
            raise UsageError(f"--record-video needs an MP4 writer, and this machine has none ({type(err).__name__}: "
                             f"{err}); install imageio-ffmpeg (a dependency of vla-bench) or drop --record-video") from err


TRACE_VERSION = 1


def write_trace(path: Path, record: dict[str, Any], steps: list[dict[str, Any]],
                factors: dict[str, Any] | None = None) -> Path:
    """The episode's trace as JSON: a header (its record's identity and outcome, the factors) and
    `steps`, one `vla_bench.runner.episode.trace_entry` per step from the reset (step 0) on, so
    `steps[k]` describes frame k of the episode's video."""
    header = {key: record.get(key) for key in ("policy", "split", "task", "episode_id", "seed", "instruction",
                                               "success", "steps", "progress", "error", "sim_seconds")}
    data = {"trace_version": TRACE_VERSION, **header, "factors": dict(factors or {}), "trace": steps}
    path.parent.mkdir(parents=True, exist_ok=True)
    with written_whole(path) as partial:  # a trace is whole or absent, even after a kill
        partial.write_text(json.dumps(data, separators=(",", ":")))
    return path


def read_trace(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())

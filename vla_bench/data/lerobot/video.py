"""Camera frames as MP4 video, encoded the way LeRobot records (AV1 through SVT-AV1, yuv420p, a
keyframe every 2 frames for fast seeking, CRF 30), with the ffmpeg that imageio-ffmpeg ships."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

CODEC, ENCODER, PIXEL_FORMAT, KEYFRAME_INTERVAL, CRF = "av1", "libsvtav1", "yuv420p", 2, 30


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], stdin: bytes | None = None) -> bytes:
    done = subprocess.run([_ffmpeg(), "-hide_banner", "-loglevel", "error", *args], input=stdin,
                          capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def encode(frames: np.ndarray, fps: int) -> bytes:
    """(T, H, W, 3) uint8 frames -> the bytes of an MP4 file at `fps` frames per second."""
    steps, height, width, _ = frames.shape
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "episode.mp4"
        _run(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
              "-c:v", ENCODER, "-pix_fmt", PIXEL_FORMAT, "-g", str(KEYFRAME_INTERVAL), "-crf", str(CRF),
              "-svtav1-params", "lp=1", str(path)],
             stdin=np.ascontiguousarray(frames, dtype=np.uint8).tobytes())
        return path.read_bytes()


def concatenate(parts: list[Path], out: Path) -> None:
    """MP4 files of the same codec and size, one after the other in one file, without re-encoding."""
    out.parent.mkdir(parents=True, exist_ok=True)
    listing = out.with_suffix(".parts.txt")
    quoted = (str(p.resolve()).replace("'", "'\\''") for p in parts)  # the concat list's own quoting
    listing.write_text("".join(f"file '{q}'\n" for q in quoted))
    try:
        _run(["-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out)])
    finally:
        listing.unlink()


def decode(path: Path, start_s: float, count: int, height: int, width: int) -> np.ndarray:
    """`count` frames (count, H, W, 3) uint8 from `start_s` seconds into the video on."""
    raw = _run(["-ss", f"{start_s:.6f}", "-i", str(path), "-frames:v", str(count), "-f", "rawvideo",
                "-pix_fmt", "rgb24", "-"])
    frames = np.frombuffer(raw, dtype=np.uint8)
    if frames.size != count * height * width * 3:
        raise ValueError(f"{path}: {frames.size // (height * width * 3)} frames from {start_s} s, expected {count}")
    return frames.reshape(count, height, width, 3)


def feature_info(height: int, width: int, fps: int) -> dict:
    """The `info` LeRobot keeps with a video feature in meta/info.json."""
    return {"video.height": height, "video.width": width, "video.codec": CODEC, "video.pix_fmt": PIXEL_FORMAT,
            "video.is_depth_map": False, "video.fps": fps, "video.channels": 3, "has_audio": False}

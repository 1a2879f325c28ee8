"""Demonstrations as LeRobot datasets, so LeRobot users train on them with LeRobot's own tools.

`LeRobotWriter` writes LeRobot's current layout, v3.0; `LeRobotDataset` reads it back as arrays,
and also reads the v2.1 datasets that vla-bench wrote before. The layout, per domain folder:

    meta/info.json                               schema, fps, counts, path templates
    meta/tasks.parquet                           instruction -> task_index
    meta/episodes/chunk-000/file-000.parquet     per episode: length, where its rows and video frames
                                                 lie, its statistics, and vla-bench's own fields
    meta/stats.json                              statistics over the whole dataset
    data/chunk-000/file-000.parquet              one row per control step, many episodes per file
    videos/KEY/chunk-000/file-000.mp4            a camera's frames, many episodes per file (AV1)

With `video=False` (`vla-bench collect --lossless`) the frames are PNG images in the data files
instead (LeRobot's `image` dtype), exactly as rendered.
"""
from vla_bench.data.lerobot.episode import EncodedFrames, Episode
from vla_bench.data.lerobot.reader import LeRobotDataset
from vla_bench.data.lerobot.writer import LeRobotWriter

__all__ = ["EncodedFrames", "Episode", "LeRobotDataset", "LeRobotWriter"]

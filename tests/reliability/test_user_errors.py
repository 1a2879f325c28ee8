"""Every user error is one line (`vla-bench: error: ...`, exit status 2) that says what to do,
found before any policy or model is built; only the suite's own bugs show a traceback."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vla_bench.cli import main
from vla_bench.policy.loader import PolicySpec

TINY = ["--split", "train", "--tasks", "PickUp", "--episodes-per-task", "1", "--workers", "1", "--no-progress"]


def _one_line_error(capsys, code: int, expected: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("vla-bench: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert expected in err, err
    return err


def _write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture
def marking_policy(tmp_path) -> tuple[str, Path]:
    """A policy whose constructor leaves a marker file, to prove nothing was built."""
    marker = tmp_path / "built"
    path = _write(tmp_path / "marking.py", f"""
        import numpy as np
        from pathlib import Path
        from vla_bench.policy import Policy

        class Marking(Policy):
            def __init__(self):
                Path({str(marker)!r}).touch()

            def act(self, observation):
                return np.zeros(7, np.float32)
        """)
    return f"{path}:Marking", marker


def test_a_policy_file_with_a_syntax_error_names_the_file_and_line(tmp_path, capsys):
    path = _write(tmp_path / "bad_syntax.py", """
        from vla_bench.policy import Policy
        class MyPolicy(Policy)
            pass
        """)
    code = main(["run", "--policy", f"{path}:MyPolicy", *TINY, "--out", str(tmp_path / "run")])
    _one_line_error(capsys, code, f"policy file {path} does not import: SyntaxError at line 3")


def test_a_policy_file_that_raises_on_import_names_its_line(tmp_path, capsys):
    path = _write(tmp_path / "raises.py", """
        import numpy
        value = 1 / 0
        """)
    code = main(["run", "--policy", f"{path}:MyPolicy", *TINY, "--out", str(tmp_path / "run")])
    _one_line_error(capsys, code, "ZeroDivisionError at raises.py line 3")


def test_a_policy_file_may_define_dataclasses_under_postponed_annotations(tmp_path):
    path = _write(tmp_path / "with_dataclass.py", """
        from __future__ import annotations
        from dataclasses import dataclass
        import numpy as np
        from vla_bench.policy import Policy

        @dataclass
        class Gains:
            forward: float = 0.0

        class MyPolicy(Policy):
            def __init__(self):
                self.gains = Gains()

            def act(self, observation):
                return np.full(7, self.gains.forward, np.float32)
        """)
    policy = PolicySpec(f"{path}:MyPolicy").build()
    assert policy.gains.forward == 0.0


def test_a_package_in_the_current_folder_loads_without_pythonpath(tmp_path):
    package = tmp_path / "my_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    _write(package / "module.py", """
        import numpy as np
        from vla_bench.policy import Policy

        class MyPolicy(Policy):
            name = "mine"

            def act(self, observation):
                return np.zeros(7, np.float32)
        """)
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "vla_bench.cli", "run", "--policy", "my_pkg.module:MyPolicy", *TINY,
                           "--out", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "mine on train" in done.stdout


@pytest.mark.parametrize("out", ["/proc/vla-bench-run", "a_file", "/sys/vla-bench"])
def test_an_unwritable_out_is_refused_before_the_policy_is_built(out, tmp_path, capsys, marking_policy):
    reference, marker = marking_policy
    (tmp_path / "a_file").write_text("not a folder")
    target = out if out.startswith("/") else str(tmp_path / out)
    code = main(["run", "--policy", reference, *TINY, "--out", target])
    _one_line_error(capsys, code, "--out")
    assert not marker.exists()


def test_an_existing_run_is_refused_before_the_policy_is_built(tmp_path, capsys, marking_policy):
    reference, marker = marking_policy
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "episodes.jsonl").write_text(json.dumps({"episode_id": "x"}) + "\n")
    code = main(["run", "--policy", reference, *TINY, "--out", str(tmp_path / "run")])
    _one_line_error(capsys, code, "already holds 1 episodes; pass --resume")
    assert not marker.exists()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "oracle"
    assert main(["run", "--policy", "oracle", *TINY, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("command,target", [
    ("leaderboard", "/proc/board.csv"), ("leaderboard", "FOLDER"), ("report", "/proc/report"), ("report", "FILE"),
])
def test_unwritable_report_and_leaderboard_outputs_are_one_line_errors(command, target, finished_run, tmp_path,
                                                                       capsys):
    (tmp_path / "FILE").write_text("")
    (tmp_path / "FOLDER").mkdir()
    target = target if target.startswith("/") else str(tmp_path / target)
    code = main([command, str(finished_run), "-o", target])
    _one_line_error(capsys, code, "-o")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_a_step_timeout_must_be_a_positive_number(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--policy", "random", *TINY, "--step-timeout", value])
    assert exit_.value.code == 2 and "--step-timeout" in capsys.readouterr().err


def test_workers_zero_records_the_processes_that_ran(finished_run):
    info = json.loads((finished_run / "run.json").read_text())
    assert info["config"]["workers"] == 1


def test_a_corrupt_checkpoint_is_a_one_line_error(tmp_path, capsys):
    corrupt = tmp_path / "bcz.safetensors"
    corrupt.write_bytes(b"\x00" * 100)
    code = main(["run", "--policy", "bcz", "--policy-arg", f"checkpoint={corrupt}", *TINY,
                 "--out", str(tmp_path / "run")])
    _one_line_error(capsys, code, f"{corrupt} is not a loadable vla-bench checkpoint")


def test_a_corrupt_run_json_is_a_one_line_error_on_resume(finished_run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(finished_run, copy)
    (copy / "run.json").write_text('{"config": ')
    code = main(["run", "--policy", "oracle", *TINY, "--out", str(copy), "--resume"])
    _one_line_error(capsys, code, "run.json is not valid JSON")


def test_record_video_without_an_mp4_writer_is_refused_before_running(tmp_path):
    """imageio falls back to another format when ffmpeg is missing; every video would fail."""
    import os

    result = subprocess.run([sys.executable, "-m", "vla_bench.cli", "run", "--policy", "random", "--split", "train",
                             "--tasks", "PickUp", "--episodes-per-task", "1", "--record-video", "1",
                             "--out", str(tmp_path / "run"), "--no-progress"],
                            env={**os.environ, "IMAGEIO_FFMPEG_EXE": str(tmp_path / "no-ffmpeg")},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "--record-video needs an MP4 writer" in result.stderr
    assert not (tmp_path / "run" / "episodes.jsonl").exists()

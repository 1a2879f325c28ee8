"""Training runs on CPU, lowers the loss, and is deterministic given its seed."""
import json

import pytest
from safetensors.torch import load_file

from vla_bench.baselines.checkpoint import load_checkpoint
from vla_bench.baselines.train import TrainConfig, train
from vla_bench.cli import main

TINY = {
    "rt1": {"stage_widths": [16, 16, 24, 24], "stem_width": 8, "width": 32, "layers": 1, "heads": 2, "history": 2},
    "bcz": {"stage_widths": [8, 16, 16, 32], "stem_width": 8, "hidden": 64},
}


def _config(name, data, out, **extra):
    return TrainConfig(model=name, data=data, out=out, steps=60, batch_size=16, learning_rate=2e-3, warmup_steps=5,
                       shift_pixels=0, jitter=0.0, validation_fraction=0.0, evaluate_every=30, device="cpu",
                       model_overrides=TINY[name], **extra)


@pytest.mark.parametrize("name", ["rt1", "bcz"])
def test_a_few_steps_lower_the_loss_and_write_a_loadable_checkpoint(name, tiny_dataset, tmp_path):
    path = train(_config(name, tiny_dataset, tmp_path / f"{name}.safetensors"), progress=False)
    losses = json.loads(path.with_suffix(".log.json").read_text())["history"]["train_loss"]
    assert len(losses) == 60
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10
    assert path.with_suffix(".loss.png").stat().st_size > 0
    loaded_name, model, training = load_checkpoint(path)
    assert loaded_name == name and training["steps_done"] == 60 and not model.training


def test_training_is_deterministic_given_its_seed(tiny_dataset, tmp_path):
    first = load_file(train(_config("bcz", tiny_dataset, tmp_path / "a.safetensors"), progress=False))
    second = load_file(train(_config("bcz", tiny_dataset, tmp_path / "b.safetensors"), progress=False))
    assert first.keys() == second.keys() and all((first[k] == second[k]).all() for k in first)


def test_train_command_refuses_a_folder_without_a_dataset(tmp_path, capsys):
    assert main(["train", "bcz", "--data", str(tmp_path), "--out", str(tmp_path / "x.safetensors")]) == 2
    assert "vla-bench collect" in capsys.readouterr().err

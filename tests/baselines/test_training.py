"""Training runs on CPU, lowers the loss in both domains, and is deterministic given its seed."""
import json
from dataclasses import replace

import pytest
from safetensors.torch import load_file

from vla_bench.baselines import make_model
from vla_bench.baselines.checkpoint import load_checkpoint
from vla_bench.baselines.data import load_demonstrations
from vla_bench.baselines.train import TrainConfig, train
from vla_bench.cli import main
from vla_bench.errors import UsageError

from .measures import keypoint_error_shares, loss_on_every_frame, untrained_twin

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
    assert set(training["tasks"]) == {"PickUp", "CloseDrawer", "GoToObject"}


def test_a_continuous_head_trains_by_mean_squared_error_too(tiny_dataset, tmp_path):
    config = _config("bcz", tiny_dataset, tmp_path / "mse.safetensors")
    config = replace(config, model_overrides={**TINY["bcz"], "regression_loss": "mse"})
    path = train(config, progress=False)
    losses = json.loads(path.with_suffix(".log.json").read_text())["history"]["train_loss"]
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10
    assert load_checkpoint(path)[1].heads["manipulation"].regression_loss == "mse"


@pytest.mark.parametrize("name", ["rt1", "bcz"])
def test_training_lowers_the_loss_of_each_domain(name, tiny_dataset, tmp_path):
    """One model, two heads: the manipulation and the navigation loss both fall."""
    trained = load_checkpoint(train(_config(name, tiny_dataset, tmp_path / "m.safetensors"), progress=False))[1]
    untrained = untrained_twin(name, trained, **TINY[name])
    demos = load_demonstrations(tiny_dataset, trained.config, processes=1)
    for index, domain in enumerate(trained.config.domains):
        losses = [loss_on_every_frame(model, demos, index) for model in (untrained, trained)]
        assert losses[1] < 0.8 * losses[0], (domain, losses)


def test_training_is_deterministic_given_its_seed(tiny_dataset, tmp_path):
    first = load_file(train(_config("bcz", tiny_dataset, tmp_path / "a.safetensors"), progress=False))
    second = load_file(train(_config("bcz", tiny_dataset, tmp_path / "b.safetensors"), progress=False))
    assert first.keys() == second.keys() and all((first[k] == second[k]).all() for k in first)


def test_init_continues_a_checkpoint_and_refuses_another_model_or_configuration(tiny_dataset, tmp_path):
    first = train(_config("bcz", tiny_dataset, tmp_path / "a.safetensors"), progress=False)
    continued = replace(_config("bcz", tiny_dataset, tmp_path / "b.safetensors"), init=first, model_overrides={})
    second = train(continued, progress=False)
    before, after = (json.loads(p.with_suffix(".log.json").read_text()) for p in (first, second))
    start = lambda log: sum(log["history"]["train_loss"][:3]) / 3  # noqa: E731
    assert start(after) < 0.7 * start(before)  # it starts where the first training stopped, not from scratch
    assert after["training"]["init"] == str(first)
    assert load_checkpoint(second)[1].config == load_checkpoint(first)[1].config
    with pytest.raises(UsageError, match="holds a bcz checkpoint, not rt1"):
        train(replace(_config("rt1", tiny_dataset, tmp_path / "c.safetensors"), init=first, model_overrides={}))
    with pytest.raises(UsageError, match="--config"):
        train(replace(_config("bcz", tiny_dataset, tmp_path / "d.safetensors"), init=first))


def test_train_command_refuses_a_folder_without_a_dataset(tmp_path, capsys):
    assert main(["train", "bcz", "--data", str(tmp_path), "--out", str(tmp_path / "x.safetensors")]) == 2
    assert "vla-bench collect" in capsys.readouterr().err


def test_data_scaling_keeps_each_tasks_first_demonstrations(tiny_dataset):
    config = make_model("bcz", **TINY["bcz"]).config
    everything = load_demonstrations(tiny_dataset, config, processes=1)
    first = load_demonstrations(tiny_dataset, config, episodes_per_task=1, processes=1)
    assert int(first.episode.max()) + 1 == 3 == int(everything.episode.max()) + 1
    navigation_only = load_demonstrations(tiny_dataset, make_model("bcz", domains=["navigation"]).config, processes=1)
    assert navigation_only.task_names == ("GoToObject",) and (navigation_only.domain == 0).all()


KEYPOINT_HEADS = [("rt1", "readout", {}), ("bcz", "readout", {}), ("rt1", "frame", {}), ("bcz", "frame", {}),
                  ("bcz", "frame", {"pooling": "spatial_softmax"}), ("rt1", "frame", {"coordinates": True})]


@pytest.mark.parametrize("name, source, pooling", KEYPOINT_HEADS)
def test_the_keypoint_head_reads_where_the_keypoints_are(name, source, pooling, tiny_dataset, tmp_path):
    """keypoint_weight adds a head that predicts, from the decision's readout or from the newest
    frame's image features alone, where the task's keypoints lie relative to the hand: trained,
    it places them closer than their mean offset does, so it reads them from its inputs rather
    than learning one constant; in navigation the same for where the named goals lie. 150 steps:
    after 60 the head was only starting to read them (errors 0.42-0.83 of the mean offset's over
    three seeds), so a machine's last bits decided the test; after 150 they are 0.10-0.34
    (scripts/experiments/keypoint_test_margin.py)."""
    overrides = TINY[name] | {"keypoint_weight": 1.0, "keypoint_input": source} | pooling
    config = replace(_config(name, tiny_dataset, tmp_path / "k.safetensors"), model_overrides=overrides, steps=150)
    trained = load_checkpoint(train(config, progress=False))[1]
    demos = load_demonstrations(tiny_dataset, trained.config, processes=1)
    for domain, share in keypoint_error_shares(trained, demos).items():
        assert share < 0.5, (domain, share)


def test_a_keypoint_head_needs_demonstrations_that_record_keypoints(tmp_path):
    """Datasets collected before vla-bench recorded keypoints have none: training a head on one
    stops with a message that says so."""
    import gymnasium as gym

    from vla_bench.data.collect import SCHEMAS, record_demonstration
    from vla_bench.data.lerobot import LeRobotWriter
    from vla_bench.splits import generate_manifest

    episode = generate_manifest("train", 1, seed=9, tasks=["GoToObject"]).episodes[0]
    demo = replace(record_demonstration(gym.make("vla_bench/GoToObject-v0"), episode), keypoints=None)
    schema = SCHEMAS["navigation"]
    writer = LeRobotWriter(tmp_path / "old" / "navigation", fps=1, robot_type=schema.robot_type,
                           state_names=schema.state_names, action_names=schema.action_names)
    writer.add(demo)
    writer.close()
    overrides = TINY["bcz"] | {"keypoint_weight": 1.0}
    config = replace(_config("bcz", tmp_path / "old", tmp_path / "k.safetensors"), model_overrides=overrides)
    with pytest.raises(ValueError, match="vla_bench.keypoints"):
        train(config, progress=False)

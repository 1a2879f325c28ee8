"""Learning curves: snapshots kept during training, evaluated on the same episodes as the final model."""
from vla_bench.baselines.curves import curve_points, plot_curves
from vla_bench.baselines.train import TrainConfig, snapshot_path, train
from vla_bench.runner.runner import RunConfig, run

TINY_BCZ = {"stage_widths": [8, 16, 16, 32], "stem_width": 8, "hidden": 64}


def test_a_snapshot_and_the_final_model_make_one_curve(tiny_dataset, tmp_path):
    final = train(TrainConfig(model="bcz", data=tiny_dataset, out=tmp_path / "bcz.safetensors", steps=40,
                              batch_size=8, warmup_steps=5, validation_fraction=0.0, evaluate_every=20,
                              snapshot_every=20, device="cpu", model_overrides=TINY_BCZ), progress=False)
    snapshot = snapshot_path(final, 20)
    assert snapshot.exists() and snapshot.read_bytes() != final.read_bytes()
    runs = tmp_path / "runs"
    common = dict(policy="bcz", split="train", tasks=("CloseDrawer", "GoToObject"), workers=1, progress=False)
    run(RunConfig(**common, episodes_per_task=1, policy_args={"checkpoint": str(snapshot)},
                  out=runs / "curves" / "bcz-steps-20"))
    run(RunConfig(**common, episodes_per_task=2, policy_args={"checkpoint": str(final)}, out=runs / "bcz-train"))

    curves = curve_points(runs)
    overall = sorted((r for r in curves["steps"] if r["task"] == "ALL"), key=lambda r: r["x"])
    assert [r["x"] for r in overall] == [20, 40]  # the final point is the checkpoint's own step count
    assert [r["episodes"] for r in overall] == [2, 2]  # the final run restricted to the snapshot's episodes
    assert {r["task"] for r in curves["steps"]} == {"CloseDrawer", "GoToObject", "ALL"}
    assert curves["demos"] == []
    assert plot_curves(curves, tmp_path / "curves.png").stat().st_size > 0

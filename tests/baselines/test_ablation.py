"""The design-space model: each variant differs from the base in one choice, every fusion brings
the instruction where it says, and every variant trains on CPU."""
import pytest
import torch

from vla_bench.baselines import make_model
from vla_bench.baselines.ablation.configuration import BASE, VARIANTS, AblationConfig
from vla_bench.baselines.checkpoint import load_checkpoint
from vla_bench.baselines.data import load_demonstrations
from vla_bench.baselines.train import TrainConfig, train

from .measures import loss_on_every_frame, untrained_twin

SMALL = {"stage_widths": [8, 16, 16, 32], "vit_width": 32, "vit_layers": 1, "hidden": 64}


def test_each_variant_differs_from_the_base_in_exactly_one_choice():
    base = AblationConfig()
    assert {k: getattr(base, k) for k in BASE} == BASE
    for variant in VARIANTS:
        config = AblationConfig(variant=variant)
        changed = [k for k in BASE if getattr(config, k) != getattr(base, k)]
        assert changed == list(VARIANTS[variant]), variant
        assert AblationConfig.from_dict(config.to_dict()) == config  # as a checkpoint stores it


def test_an_explicit_choice_overrides_the_variants_and_bad_combinations_are_refused():
    assert make_model("ablation", variant="vit", head="binned", **SMALL).config.head == "binned"
    with pytest.raises(ValueError, match="variant must be one of"):
        make_model("ablation", variant="resnet")
    with pytest.raises(ValueError, match="early fusion"):
        make_model("ablation", encoder="efficientnet_lite0", fusion="early")


@pytest.mark.parametrize("variant, in_encoder", [("base", True), ("vit", True), ("early_fusion", True),
                                                 ("cross_attention", True), ("late_fusion", False)])
def test_the_instruction_reaches_the_actions_through_its_fusion_only(variant, in_encoder):
    torch.manual_seed(0)
    model = make_model("ablation", variant=variant, **SMALL).eval()
    for module in model.modules():  # FiLM starts as the identity: give it something to say
        if module.__class__.__name__ == "FiLM":
            torch.nn.init.normal_(module.project.weight, std=0.1)
    images, proprio, domain = torch.randn(1, 1, 2, 3, 128, 128), torch.randn(1, 1, 15), torch.tensor([0])
    first, second = torch.randn(1, 384), torch.randn(1, 384)
    with torch.no_grad():
        frames = [model.encode_frames(images[:, 0], language) for language in (first, second)]
        readouts = [model(images, proprio, language, domain) for language in (first, second)]
    assert not torch.equal(*readouts)  # untrained features are small: any change counts
    assert torch.equal(*frames) != in_encoder


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_trains_on_cpu_and_its_checkpoint_names_its_choices(variant, tiny_dataset, tmp_path):
    config = TrainConfig(model="ablation", data=tiny_dataset, out=tmp_path / "m.safetensors", steps=40, batch_size=8,
                         learning_rate=2e-3, warmup_steps=3, shift_pixels=0, jitter=0.0, validation_fraction=0.0,
                         evaluate_every=20, device="cpu", model_overrides={"variant": variant, **SMALL})
    trained = load_checkpoint(train(config, progress=False))[1]
    # on every frame, not the last few batches of 8: those put chunked at 0.74 and 0.84 of the first few
    # in two seeds, where every variant's loss on every frame falls to 0.20-0.66 over three
    untrained = untrained_twin("ablation", trained, variant=variant, **SMALL)
    demos = load_demonstrations(tiny_dataset, trained.config, processes=1)
    assert loss_on_every_frame(trained, demos) < 0.8 * loss_on_every_frame(untrained, demos)
    loaded = trained.config
    assert loaded.variant == variant and {k: getattr(loaded, k) for k in BASE} == {**BASE, **VARIANTS[variant]}


def test_a_variant_is_named_on_the_train_command_line(tiny_dataset, tmp_path, capsys):
    from vla_bench.cli import main

    out = tmp_path / "vit.safetensors"
    assert main(["train", "ablation", "--data", str(tiny_dataset), "--out", str(out), "--steps", "2",
                 "--batch-size", "4", "--device", "cpu", "--no-progress", "--config", "variant=vit",
                 "--config", "vit_width=32", "--config", "vit_layers=1"]) == 0
    config = load_checkpoint(out)[1].config
    assert (config.variant, config.encoder, config.vit_width) == ("vit", "vit", 32)

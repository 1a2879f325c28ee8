"""The baselines' architectures keep the contracts training and the policy rely on."""
import pytest
import torch

from vla_bench.baselines import make_model
from vla_bench.baselines.heads import BinnedHead, ContinuousHead, DiscreteHead
from vla_bench.baselines.layers import FiLM, SpatialSoftmax, random_shift, with_coordinates
from vla_bench.baselines.rt1.modeling import RT1, TokenLearner
from vla_bench.errors import UnknownName, UsageError

SMALL = {
    "rt1": {"stage_widths": [16, 16, 16, 16], "stem_width": 8, "width": 32, "layers": 1, "heads": 2, "image_size": 64},
    "bcz": {"stage_widths": [8, 8, 16, 16], "stem_width": 8, "hidden": 32, "image_size": 64},
}
DOMAINS = torch.tensor([0, 1])  # one manipulation and one navigation window


def _inputs(model, batch=2):
    c = model.config
    images = torch.randn(batch, c.history, c.cameras, 3, 64, 64)
    return images, torch.randn(batch, c.history, c.proprio_dim), torch.randn(batch, c.language_dim), DOMAINS


@pytest.mark.parametrize("name", ["rt1", "bcz"])
def test_one_model_acts_in_both_domains(name):
    model = make_model(name, **SMALL[name]).eval()
    readouts = model(*_inputs(model))
    manipulation = model.predict(readouts[:1, -1], "manipulation")[0]
    navigation = model.predict(readouts[1:, -1], "navigation")[0]
    assert manipulation.shape[0] == navigation.shape[0] == model.config.chunk
    action = model.heads["manipulation"].decode(manipulation[0])
    assert action.shape == (7,) and action.abs().max() <= 1
    move = model.heads["navigation"].decode(navigation[0])
    assert move.dtype == torch.int64 and 0 <= int(move) < 4


@pytest.mark.parametrize("name", ["rt1", "bcz"])
def test_each_domain_trains_only_its_own_head(name):
    model = make_model(name, **SMALL[name])
    images, proprio, language, _ = _inputs(model, batch=1)
    targets = torch.zeros(1, model.config.history, model.config.chunk, 7)
    model.loss(model(images, proprio, language, torch.tensor([1])), targets, torch.tensor([1])).backward()
    assert all(p.grad is None for p in model.heads["manipulation"].parameters())
    assert all(p.grad is not None for p in model.heads["navigation"].parameters())


@pytest.mark.parametrize("name, every_step", [("rt1", True), ("bcz", False)])
def test_a_history_of_frames_trains_on_the_steps_it_reads_out(name, every_step):
    """rt1 decides at every step of its window, bcz once at its end: the loss counts the targets
    of exactly those steps."""
    model = make_model(name, **SMALL[name], history=3)
    images, proprio, language, domain = _inputs(model)
    readouts = model(images, proprio, language, domain)
    targets = torch.zeros(2, 3, model.config.chunk, 7)
    changed = targets.clone()
    changed[:, 0] = 1.0  # the first step's targets only
    loss = model.loss(readouts, targets, domain)
    loss.backward(retain_graph=True)
    assert torch.isfinite(loss)
    assert (model.loss(readouts, changed, domain) != loss) == every_step


def test_rt1_is_causal_over_its_history():
    """The decision for step t must not see frames after t (training supervises every step)."""
    model = RT1(RT1.config_class(**SMALL["rt1"], history=3)).eval()
    images, proprio, language, domain = _inputs(model)
    before = model(images, proprio, language, domain)
    images[:, -1] += 1.0  # change only the latest frame
    after = model(images, proprio, language, domain)
    assert torch.allclose(before[:, :-1], after[:, :-1], atol=1e-5)
    assert not torch.allclose(before[:, -1], after[:, -1])


def test_bins_round_trip_the_action_range():
    head = BinnedHead(8, chunk=1, action_dim=7, bins=256)
    actions = torch.tensor([[-1.0, -0.5, 0.0, 0.25, 0.5, 0.999, 1.0]])
    bins = head.to_bins(actions)
    assert bins.min() == 0 and bins.max() == 255
    probabilities = torch.nn.functional.one_hot(bins, 256).float()
    assert torch.allclose(head.decode(probabilities), actions, atol=1 / 255 + 1e-6)


def test_heads_read_targets_of_their_own_form():
    targets = torch.tensor([[[2.0, 0, 0, 0, 0, 0, 0]]])  # navigation: the move's index in column 0
    discrete = DiscreteHead(8, chunk=1, choices=4)
    perfect = torch.tensor([[[-9.0, -9.0, 9.0, -9.0]]])
    assert discrete.loss(perfect, targets) < 1e-3 < discrete.loss(perfect.roll(1, -1), targets)
    continuous = ContinuousHead(8, chunk=1, action_dim=7)
    assert continuous.loss(targets.clamp(-1, 1), targets.clamp(-1, 1)) == 0


def test_the_regression_loss_pulls_towards_the_median_or_the_mean():
    """Targets -1, +1, +1: smooth L1 pulls an output of 0.5 up towards their median (+1), mean
    squared error down towards their mean (1/3)."""
    targets = torch.tensor([[[-1.0]], [[1.0]], [[1.0]]])
    for loss, direction in (("smooth_l1", -1), ("mse", 1)):
        output = torch.full((3, 1, 1), 0.5, requires_grad=True)
        ContinuousHead(8, chunk=1, action_dim=1, regression_loss=loss).loss(output, targets).backward()
        assert torch.sign(output.grad.sum()) == direction


def test_the_regression_loss_is_checked_and_refused_where_nothing_regresses():
    assert make_model("bcz", regression_loss="mse").heads["manipulation"].regression_loss == "mse"
    with pytest.raises(ValueError, match="regression_loss must be one of .*'smooth_l1', 'mse'"):
        make_model("bcz", regression_loss="huber")
    with pytest.raises(UsageError, match="RT1's heads classify"):
        make_model("rt1", regression_loss="mse")


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


def test_spatial_softmax_reports_where_each_map_peaks():
    """One keypoint that copies its single input channel: a sharp peak at column 6, row 1 of an
    8x8 map lies at x = 6/7 * 2 - 1, y = 1/7 * 2 - 1 of the [-1, 1] image frame, wherever it moves."""
    pool = SpatialSoftmax(1, 1)
    with torch.no_grad():
        pool.project.weight.fill_(1.0)
        pool.project.bias.zero_()
    features = torch.zeros(2, 1, 8, 8)
    features[0, 0, 1, 6] = features[1, 0, 5, 0] = 50.0
    assert torch.allclose(pool(features), torch.tensor([[6 / 7 * 2 - 1, 1 / 7 * 2 - 1], [-1, 5 / 7 * 2 - 1]]),
                          atol=1e-4)


def test_bcz_pools_with_a_spatial_softmax_at_the_width_of_the_mean():
    images = torch.randn(3, 2, 3, 64, 64)
    mean, keypoints = (make_model("bcz", **SMALL["bcz"], pooling=pooling).encode_frames(images, torch.randn(3, 384))
                       for pooling in ("mean", "spatial_softmax"))
    assert mean.shape == keypoints.shape == (3, 2, 16) and keypoints.abs().max() <= 1
    with pytest.raises(ValueError, match="spatial_softmax"):
        make_model("bcz", pooling="max")


def test_coordinate_channels_let_pooled_tokens_say_where_they_looked():
    """TokenLearner sums over space, so the same feature at another place gives the same tokens;
    with the coordinates appended (rt1's `coordinates`) it does not."""
    torch.manual_seed(0)
    features = torch.zeros(2, 4, 8, 8)
    features[0, :, 1, 6] = features[1, :, 5, 2] = 3.0
    plain, placed = TokenLearner(4, 2), TokenLearner(6, 2)
    with torch.no_grad():
        assert torch.allclose(*plain(features), atol=1e-6)
        tokens = placed(with_coordinates(features))
    assert not torch.allclose(*tokens, atol=1e-3)
    assert make_model("rt1", **SMALL["rt1"], coordinates=True).encode_frames(
        torch.randn(3, 2, 3, 64, 64), torch.randn(3, 384)).shape == (3, 16, 32)


def test_unknown_configuration_fields_are_named():
    with pytest.raises(UnknownName, match="valid: .*history"):
        make_model("bcz", histroy=2)
    with pytest.raises(UnknownName, match="valid: ablation, bcz, palme, rt1, rt2"):
        make_model("octo")

"""rt2 and palme: SmolLM2 loads offline from its package and works as its authors trained it, the
multimodal sentence hides its padding, each policy acts in both domains, and a few CPU steps
lower the loss while the checkpoint keeps only what was trained."""
import json

import gymnasium as gym
import pytest
import torch
from torch import nn

from vla_bench.baselines import make_model
from vla_bench.baselines.checkpoint import load_checkpoint
from vla_bench.baselines.layers import FiLM
from vla_bench.baselines.multimodal.modeling import KeypointTokens
from vla_bench.baselines.multimodal.prompt import PromptEncoder, prompt
from vla_bench.baselines.pretrained.smollm2 import load_language_model, load_tokenizer
from vla_bench.baselines.train import TrainConfig, train
from vla_bench.policy.loader import PolicySpec
from vla_bench.runner.episode import run_episode, task_info
from vla_bench.splits import load_manifest

TINY = {"backbone_layers": 2, "vision_widths": [8, 16, 16, 32], "lora_rank": 4}


@pytest.fixture(scope="module")
def language_model():
    return load_language_model().eval()


def _next_words(model, text, count=3):
    tokenizer = load_tokenizer(16)
    with torch.no_grad():
        hidden = model(model.embed(torch.tensor([tokenizer.ids(text)])))
    return [tokenizer.decode([i]) for i in model.logits(hidden[0, -1]).topk(count).indices.tolist()]


def test_smollm2_loads_from_its_package_and_completes_a_fact(language_model):
    """Dequantization, rotary embedding and tokenizer together: a wrong one loses 'Paris'."""
    assert load_tokenizer(16).ids("The capital of France is") == [504, 3575, 282, 4649, 314]
    assert _next_words(language_model, "The capital of France is")[0] == " Paris"


def test_lora_starts_as_the_pretrained_function_and_freezes_the_rest():
    model = load_language_model(layers=4).eval()
    tokens = torch.tensor([load_tokenizer(16).ids("Pick up the red mug")])
    with torch.no_grad():
        before = model(model.embed(tokens))
        model.add_lora(rank=4, alpha=8.0)
        after = model(model.embed(tokens))
    assert torch.allclose(before, after)
    trained = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trained and all("lora_" in name for name in trained)


def test_padding_is_invisible_to_the_language_model(language_model):
    """The same tokens with padding in the middle give the same states for the real tokens."""
    words = language_model.embed(torch.tensor([load_tokenizer(16).ids("Open the top drawer")]))
    padded = torch.cat([words[:, :2], torch.randn(1, 3, words.shape[-1]), words[:, 2:]], dim=1)
    present = torch.ones(1, padded.shape[1], dtype=torch.bool)
    present[0, 2:5] = False
    with torch.no_grad():
        plain = language_model(words)
        masked = language_model(padded, present)
    assert torch.allclose(plain, masked[:, present[0]], atol=1e-4)


def test_instructions_become_rt2_prompts_of_fixed_length():
    assert prompt("Pick up the red mug.") == "What action should the robot take to pick up the red mug?"
    encoder = PromptEncoder(24)
    rows = encoder.encode(["Pick up the red mug.", ""])
    assert rows.shape == (2, 24) and rows.dtype.name == "int64"
    pad = load_tokenizer(24).pad_id
    assert (rows[0] == pad).sum() > 0 and pad not in rows[0, :10]


def test_rt2_scores_actions_with_the_language_models_own_output_layer():
    """Before training, each bin's score is the language model's logit of one of the vocabulary's
    last 256 entries (RT-2's reuse of the vocabulary)."""
    model = make_model("rt2", **TINY).eval()
    readout = torch.randn(3, 7 * model.width)
    scores = model.heads["manipulation"](readout)  # (3, chunk 1, 7 dims, 256 bins)
    logits = model.language_model.logits(readout.unflatten(-1, (7, -1)))[..., -256:]
    assert torch.allclose(scores[:, 0], logits, atol=1e-4)
    moves = model.heads["navigation"](readout)
    assert torch.allclose(moves[:, 0], logits[:, 0, :4], atol=1e-4)


@pytest.mark.parametrize("name", ["rt2", "palme"])
def test_a_chunk_reads_each_step_of_each_action_dimension_from_its_own_query(name):
    """With `chunk` C the sentence ends in 7 C queries, step after step; a change in one query's
    state moves only its own step and dimension (manipulation) or its own step (navigation)."""
    model = make_model(name, **TINY, chunk=3).eval()
    assert model.queries.shape[0] == 3 * 7
    readout = torch.randn(2, 3 * 7 * model.width)
    nudged = readout.clone().unflatten(-1, (3, 7, model.width))
    nudged[:, 1, 4] += 1.0  # step 1, action dimension 4
    nudged = nudged.flatten(1)
    with torch.no_grad():
        before, after = model.heads["manipulation"](readout), model.heads["manipulation"](nudged)
        moves_before, moves_after = model.heads["navigation"](readout), model.heads["navigation"](nudged)
    assert before.shape[:3] == (2, 3, 7)
    changed = (before - after).abs().amax(-1) > 1e-6 if name == "rt2" else (before - after).abs() > 1e-6
    assert changed.nonzero()[:, 1:].unique(dim=0).tolist() == [[1, 4]]
    assert moves_before.shape == (2, 3, 4) and torch.equal(moves_before, moves_after)  # navigation reads dimension 0
    nudged = readout.clone().unflatten(-1, (3, 7, model.width))
    nudged[:, 2, 0] += 1.0
    with torch.no_grad():
        moved = (model.heads["navigation"](nudged.flatten(1)) - moves_before).abs().amax(-1) > 1e-6
    assert moved.nonzero()[:, 1].unique().tolist() == [2]


def test_without_proprio_the_decision_reads_only_images_and_words():
    """`proprio=false` (RT-2's and PaLM-E's inputs) leaves the proprio token out of the sentence:
    the readout no longer moves with the arm's state, and no proprio projection is trained."""
    torch.manual_seed(0)
    images, domain = torch.rand(1, 1, 2, 3, 128, 128), torch.tensor([0])
    proprio = torch.randn(2, 1, 15)
    for reads_proprio in (True, False):
        model = make_model("palme", **TINY, proprio=reads_proprio).eval()
        language = torch.from_numpy(model.config.instruction_encoder().encode(["Open the drawer"]))
        with torch.no_grad():
            readouts = [model(images, proprio[i: i + 1], language, domain) for i in range(2)]
        assert torch.allclose(*readouts) is not reads_proprio
        assert hasattr(model, "proprio_in") is reads_proprio
    with pytest.raises(ValueError, match="proprio must be true or false"):  # not the truthy string "False"
        make_model("palme", **TINY, proprio="False")


@pytest.mark.parametrize("name,words_first", [("rt2", False), ("palme", False), ("palme", True)])
def test_the_readout_ignores_how_far_the_prompt_is_padded(name, words_first):
    """With the words first, the padding sits between the words and the images: still invisible."""
    torch.manual_seed(0)
    short = make_model(name, **TINY, instruction_tokens=20, words_first=words_first).eval()
    long = make_model(name, **TINY, instruction_tokens=40, words_first=words_first).eval()
    long.load_state_dict(short.state_dict())
    images, proprio, domain = torch.randn(1, 1, 2, 3, 128, 128), torch.randn(1, 1, 15), torch.tensor([0])
    with torch.no_grad():
        readouts = [m(images, proprio, torch.from_numpy(m.config.instruction_encoder().encode(["Stack the cubes"])),
                      domain) for m in (short, long)]
    assert torch.allclose(*readouts, atol=1e-4)
    if words_first:  # the same weights read another sentence when the words come after the images
        images_first = make_model(name, **TINY, instruction_tokens=20).eval()
        images_first.load_state_dict(short.state_dict())
        with torch.no_grad():
            other = images_first(images, proprio, torch.from_numpy(
                short.config.instruction_encoder().encode(["Stack the cubes"])), domain)
        assert not torch.allclose(readouts[0], other, atol=1e-3)


def _config(name, data, out, **overrides):
    return TrainConfig(model=name, data=data, out=out, steps=40, batch_size=8, learning_rate=1e-3, warmup_steps=5,
                       shift_pixels=0, jitter=0.0, validation_fraction=0.0, evaluate_every=20, device="cpu",
                       model_overrides={**TINY, **overrides})


@pytest.mark.parametrize("name,overrides", [("rt2", {}), ("palme", {}), ("palme", {"vision": "film_resnet"}),
                                            ("rt2", {"chunk": 2, "proprio": False}),
                                            ("palme", {"vision": "film_resnet", "film_language": "sentence"})],
                         ids=["rt2", "palme", "palme-film_resnet", "rt2-chunk2-no_proprio", "palme-sentence_film"])
def test_a_few_cpu_steps_lower_the_loss_and_the_checkpoint_holds_only_what_was_trained(name, overrides, tiny_dataset,
                                                                                        tmp_path):
    path = train(_config(name, tiny_dataset, tmp_path / f"{name}.safetensors", **overrides), progress=False)
    losses = json.loads(path.with_suffix(".log.json").read_text())["history"]["train_loss"]
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10
    loaded_name, model, _ = load_checkpoint(path)
    assert loaded_name == name
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        keys = set(handle.keys())
    assert not keys & model.pretrained_keys()  # the frozen language model loads from its package
    assert any("lora_" in k for k in keys) and path.stat().st_size < 5 * 2**20
    assert any(k.startswith("proprio_in.") for k in keys) is overrides.get("proprio", True)

    for task in ("CloseDrawer", "GoToObject"):  # the trained policy acts in both domains
        episode = load_manifest("train").for_task(task)[0]
        env = gym.make(f"vla_bench/{task}-v0", max_episode_steps=20)
        record = run_episode(env, PolicySpec(name, {"checkpoint": str(path)}).build(), episode, "train", name)
        assert record.error == "" and record.steps > 0, record.error


def test_a_baseline_without_a_shipped_checkpoint_says_how_to_get_one():
    from vla_bench.errors import UsageError

    with pytest.raises(UsageError, match="vla-bench train rt2"):
        PolicySpec("rt2").build()


def test_keypoint_tokens_say_where_a_feature_peaks_and_join_the_image_tokens():
    torch.manual_seed(0)
    tokens = KeypointTokens(channels=1, keypoints=1, width=8)
    tokens.spatial_softmax.project.weight.data.fill_(1.0)
    tokens.spatial_softmax.project.bias.data.zero_()
    tokens.spatial_softmax.log_temperature.data.fill_(-3.0)
    maps = torch.zeros(2, 1, 8, 8)
    maps[0, 0, 4, 1] = maps[1, 0, 4, 6] = 1.0  # a peak at the left, then at the right
    with torch.no_grad():
        xy = tokens.spatial_softmax(maps)
        assert xy[0, 0] < -0.5 < 0.5 < xy[1, 0]
        assert torch.allclose(tokens(maps)[:, 0], tokens.to_tokens(xy) + tokens.identity[0])

    model = make_model("palme", **TINY, keypoint_tokens=4, keypoint_weight=1.0, keypoint_input="frame").eval()
    language = torch.from_numpy(model.config.instruction_encoder().encode(["Open the drawer"]))
    with torch.no_grad():
        features = model.encode_window(torch.rand(1, 1, 2, 3, 128, 128), language)
    assert features.shape == (1, 1, 2 * (16 + 4), model.width)  # each camera: 16 grid tokens, then 4 keypoint tokens
    assert model.keypoint_head.in_features == features[0, 0].numel()  # the frame keypoint head reads them all


def _perturb_film(model):
    """FiLM starts as the identity; random weights stand in for a trained conditioning."""
    for module in model.modules():
        if isinstance(module, FiLM):
            nn.init.normal_(module.project.weight, std=0.1)


def test_a_film_vision_makes_the_image_tokens_depend_on_the_instruction():
    """A plain CNN's image tokens are the same whatever the instruction. The FiLM-ResNet's differ once
    its FiLM layers have learned anything (they start as the identity), conditioned on the prompt's
    mean token embedding, which its padding does not change."""
    torch.manual_seed(0)
    images = torch.rand(1, 1, 2, 3, 128, 128).expand(2, -1, -1, -1, -1, -1)
    for vision, depends in (("cnn", False), ("film_resnet", True)):
        model = make_model("palme", **TINY, vision=vision).eval()
        _perturb_film(model)
        language = torch.from_numpy(model.config.instruction_encoder().encode(["Open the drawer", "Stack the cubes"]))
        with torch.no_grad():
            features = model.encode_window(images, language)
        assert torch.allclose(features[0], features[1]) is not depends, vision

    # each image of a batch of windows (two frames, two cameras) is conditioned on its own row's words
    images = torch.rand(2, 2, 2, 3, 128, 128)
    model = make_model("palme", **TINY, vision="film_resnet", history=2).eval()
    _perturb_film(model)
    with torch.no_grad():
        batched = model.encode_window(images, language)
        rows = [model.encode_window(images[i: i + 1], language[i: i + 1]) for i in range(2)]
    assert torch.allclose(batched, torch.cat(rows), atol=1e-5)

    longer = PromptEncoder(model.config.instruction_tokens + 16).encode(["Open the drawer"])
    with torch.no_grad():
        means = [model.mean_word_embedding(torch.from_numpy(ids)) for ids in (language[:1].numpy(), longer)]
    assert torch.allclose(*means, atol=1e-6)


def test_a_sentence_film_reads_minilm_while_the_language_model_reads_the_prompt():
    """With `film_language="sentence"` each language row is the prompt's token ids, then
    all-MiniLM-L6-v2's embedding: the FiLM-ResNet's image features follow the embedding alone, the
    language model's readout the ids."""
    from vla_bench.baselines.language import SentenceEncoder

    torch.manual_seed(0)
    texts = ["Open the drawer", "Stack the cubes"]
    model = make_model("palme", **TINY, vision="film_resnet", film_language="sentence").eval()
    _perturb_film(model)
    length = model.config.instruction_tokens
    rows = torch.from_numpy(model.config.instruction_encoder().encode(texts))
    assert torch.equal(rows[:, :length].long(), torch.from_numpy(PromptEncoder(length).encode(texts)))
    assert torch.allclose(rows[:, length:], torch.from_numpy(SentenceEncoder().encode(texts)))
    assert model.vision.network.blocks[0].film.project.in_features == rows.shape[1] - length

    crossed = torch.cat([rows[:1, :length], rows[1:, length:]], dim=1)  # the first's words, the second's sentence
    images = torch.rand(1, 1, 2, 3, 128, 128)
    proprio, domain = torch.zeros(1, 1, model.config.proprio_dim), torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        features = {name: model.encode_window(images, row[None]) for name, row in
                    (("first", rows[0]), ("second", rows[1]), ("crossed", crossed[0]))}
        assert torch.allclose(features["crossed"], features["second"])
        assert not torch.allclose(features["first"], features["second"])
        read = []  # what the language model embeds: the prompt's ids alone
        hook = model.language_model.embed.register_forward_hook(lambda module, args, out: read.append(args[0]))
        readouts = {name: model.decide(features["second"], proprio, row[None], domain) for name, row in
                    (("crossed", crossed[0]), ("second", rows[1]), ("second words, first sentence",
                                                                   torch.cat([rows[1, :length], rows[0, length:]])))}
        hook.remove()
    assert [ids.shape for ids in read] == [(1, length)] * 3 and torch.equal(read[1][0], rows[1, :length].long())
    assert not torch.allclose(readouts["crossed"], readouts["second"])  # the same image features, other words
    assert torch.equal(readouts["second words, first sentence"], readouts["second"])  # the sentence is FiLM's alone

    for bad, match in (({"film_language": "words"}, "film_language must be one of"),
                       ({"vision": "cnn", "film_language": "sentence"}, "needs vision='film_resnet'"),
                       ({"vision": "film_resnet", "film_language": "sentence", "language_dim": 512},
                        "language_dim must be 384")):
        with pytest.raises(ValueError, match=match):
            make_model("palme", **TINY, **bad)


@pytest.mark.slow
def test_compiled_blocks_train_and_act_as_the_eager_ones_do(tiny_dataset, tmp_path):
    """`train --compile` and the policy's `compile=true` change how the language model's blocks run,
    not what they compute: the same steps give the same losses and checkpoint keys, and the policy
    the same actions."""
    import dataclasses

    from safetensors import safe_open
    from torch._dynamo.utils import counters

    runs, keys = {}, {}
    for compiled in (False, True):
        counters.clear()
        config = dataclasses.replace(_config("palme", tiny_dataset, tmp_path / f"{compiled}.safetensors"),
                                     steps=6, evaluate_every=3, compile=compiled)
        path = train(config, progress=False)
        assert bool(counters["stats"]["unique_graphs"]) == compiled  # the blocks did run compiled
        runs[compiled] = json.loads(path.with_suffix(".log.json").read_text())["history"]["train_loss"]
        with safe_open(str(path), framework="pt") as handle:
            keys[compiled] = set(handle.keys())
    assert runs[True] == pytest.approx(runs[False], rel=1e-3)
    assert keys[True] == keys[False]  # compiling in place renames nothing

    episode = load_manifest("train").for_task("PickUp")[0]
    env = gym.make("vla_bench/PickUp-v0")
    observation, _ = env.reset(seed=episode.seed, options={"episode": episode})
    actions = []
    for compiled in (False, True):
        counters.clear()
        policy = PolicySpec("palme", {"checkpoint": str(path), "compile": compiled}).build()
        policy.reset(observation["instruction"], task_info(env, episode, privileged=False))
        actions.append(policy.act(observation))
        assert bool(counters["stats"]["unique_graphs"]) == compiled
    env.close()
    assert actions[1] == pytest.approx(actions[0], abs=1e-4)


def test_compiling_a_model_without_repeated_blocks_is_refused(tiny_dataset, tmp_path):
    from vla_bench.errors import UsageError

    config = TrainConfig(model="bcz", data=tiny_dataset, out=tmp_path / "bcz.safetensors", steps=1, device="cpu",
                         compile=True)
    with pytest.raises(UsageError, match="no repeated blocks"):
        train(config, progress=False)


def _bcz_trunk_palme(**overrides):
    from vla_bench.baselines import shipped_checkpoint
    from vla_bench.baselines.train import _initial_model

    config = {"backbone_layers": 2, "lora_rank": 4, "vision": "film_resnet", "film_language": "sentence"} | overrides
    return _initial_model(TrainConfig(model="palme", data="unused", out="unused", model_overrides=config,
                                      vision_from=shipped_checkpoint("bcz")))


def test_vision_from_starts_palmes_encoder_as_the_shipped_bcz_trunk():
    """`train --vision-from bcz.safetensors`: the image features are bcz's, frame for frame."""
    from vla_bench.baselines import shipped_checkpoint

    model = _bcz_trunk_palme().eval()
    _, bcz, _ = load_checkpoint(shipped_checkpoint("bcz"))
    images, sentence = torch.randn(3, 2, 3, 128, 128), torch.randn(3, 384)
    with torch.no_grad():
        theirs = bcz.eval().film_feature_maps(images, sentence)
        ours = model.vision.network.feature_maps(images.flatten(0, 1), sentence.repeat_interleave(2, dim=0))
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("overrides,message", [({"vision": "cnn", "film_language": "prompt"}, "vision=film_resnet"),
                                               ({"film_language": "prompt"}, "film_language=sentence"),
                                               ({"vision_widths": [16, 32, 64, 128]}, "no FiLM-ResNet that fits")])
def test_vision_from_refuses_an_encoder_bczs_trunk_does_not_fit(overrides, message):
    from vla_bench.errors import UsageError

    with pytest.raises(UsageError, match=message):
        _bcz_trunk_palme(**overrides)


def test_vision_from_is_refused_with_init_and_for_models_without_a_film_resnet(tmp_path):
    from vla_bench.baselines import shipped_checkpoint
    from vla_bench.baselines.train import _initial_model
    from vla_bench.errors import UsageError

    bcz = shipped_checkpoint("bcz")
    with pytest.raises(UsageError, match="takes none"):
        _initial_model(TrainConfig(model="bcz", data="unused", out="unused", vision_from=bcz))
    with pytest.raises(UsageError, match="cannot replace"):
        _initial_model(TrainConfig(model="bcz", data="unused", out="unused", init=bcz, vision_from=bcz))

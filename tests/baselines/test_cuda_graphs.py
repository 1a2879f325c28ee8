"""Batched GPU serving replays the forward passes as CUDA graphs and acts as the model called
eagerly does. The GPU tests run where CUDA is (the lent GPU machine); the argument checks run anywhere."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from vla_bench.baselines import make_model
from vla_bench.baselines.checkpoint import save_checkpoint
from vla_bench.errors import UsageError
from vla_bench.policy.loader import PolicySpec
from vla_bench.runner.episode import task_info
from vla_bench.splits import load_manifest

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")


@pytest.mark.parametrize("args,message", [({"graphs": True}, "needs device=cuda"),
                                          ({"graphs": "yes"}, "true or false")])
def test_graphs_are_refused_where_they_cannot_run(args, message):
    with pytest.raises(UsageError, match=message):
        PolicySpec("rt1", args).build()


def test_cpu_copies_call_the_model_as_it_is():
    policy = PolicySpec("bcz").build()
    assert policy.encode_frames == policy.model.encode_frames and policy.decide == policy.model.decide


@pytest.fixture(scope="module")
def palme_checkpoint(tmp_path_factory):
    """An untrained palme as round 19 trains it (sentence FiLM, keypoint tokens, chunks, no proprio)."""
    model = make_model("palme", backbone_layers=2, vision_widths=[8, 16, 16, 32], lora_rank=4, vision="film_resnet",
                       film_language="sentence", keypoint_tokens=4, chunk=4, proprio=False)
    return str(save_checkpoint(tmp_path_factory.mktemp("palme") / "palme.safetensors", "palme", model, {}))


def _episodes():
    """Three table-top and two navigation episodes: both domains in one batch."""
    return [(task, episode) for task in ("PickUp", "GoToObject")
            for episode in load_manifest("train").for_task(task)[:3 if task == "PickUp" else 2]]


@cuda
@pytest.mark.parametrize("name", ["rt1", "bcz", "palme"])
def test_graphs_act_as_the_eager_model_in_both_domains(name, request):
    args = {"device": "cuda"} | ({"checkpoint": request.getfixturevalue("palme_checkpoint")} if name == "palme" else {})
    eager, graphed = PolicySpec(name, {**args, "graphs": False}).build(), PolicySpec(name, args).build()
    assert graphed.encode_frames is not graphed.model.encode_frames  # on by default on a GPU
    episodes = _episodes()
    envs = [gym.make(f"vla_bench/{task}-v0") for task, _ in episodes]
    observations = []
    for env, (_, episode) in zip(envs, episodes):
        observations.append({**env.reset(options={"episode": episode})[0], "episode_id": episode.episode_id})
        for policy in (eager, graphed):
            policy.reset(observations[-1]["instruction"], task_info(env, episode, privileged=False))
    for step in range(6):
        serving = range(len(envs)) if step % 2 == 0 else range(2)  # 5 rows padded to 8, then 2
        batch = [observations[i] for i in serving]
        expected, actual = eager.act_batch(batch), graphed.act_batch(batch)
        for i, want, got in zip(serving, expected, actual):
            if isinstance(want, int):
                assert got == want
            else:
                assert np.allclose(got, want, atol=1e-4), (step, i, np.abs(got - want).max())
            observations[i] = {**envs[i].step(want)[0], "episode_id": episodes[i][1].episode_id}
    assert graphed.encode_frames.captured == graphed.decide.captured == 2  # one graph per padded size


@cuda
def test_a_function_that_cannot_be_captured_is_called_as_it_is_with_a_warning():
    from vla_bench.baselines.cuda_graphs import GraphedFunction

    def synchronising(x):
        return x * float(x.sum())  # the host reads the sum: not allowed while capturing

    graphed = GraphedFunction(synchronising)
    x = torch.arange(4.0, device="cuda")
    with pytest.warns(UserWarning, match="cannot be captured"):
        assert torch.equal(graphed(x), synchronising(x))
    assert graphed.eager and graphed.captured == 0 and torch.equal(graphed(x + 1), synchronising(x + 1))

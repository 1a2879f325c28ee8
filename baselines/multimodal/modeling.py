"""The multimodal sentence: [image tokens of every camera] [prompt tokens] [proprio] [action
queries, 7 per step of the chunk] through SmolLM2 (the prompt first with `words_first`, the proprio
token left out without `proprio`); the queries' final hidden states are the readout the action
heads read."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vla_bench.baselines.ablation.encoders import ResNetEncoder
from vla_bench.baselines.configuration import MANIPULATION_ACTION_DIM
from vla_bench.baselines.layers import SpatialSoftmax, conv_stem
from vla_bench.baselines.model import BaselineModel
from vla_bench.baselines.multimodal.configuration import MultimodalConfig
from vla_bench.baselines.pretrained.efficientnet_lite import EfficientNetLite0
from vla_bench.baselines.pretrained.smollm2 import load_language_model, padding_id
from vla_bench.errors import UsageError

QUERIES_PER_STEP = MANIPULATION_ACTION_DIM  # one query per manipulation action dimension; navigation reads the first


class ConvEncoder(nn.Module):
    """A plain strided CNN: conv-BN-ReLU pairs, each stage halving the resolution."""

    def __init__(self, widths: tuple[int, ...]) -> None:
        super().__init__()
        layers, c_in = [conv_stem(widths[0], nn.ReLU)], widths[0]
        for c_out in widths:
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.channels = c_in

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)


class GridTokens(nn.Module):
    """An image network and its last feature map average-pooled to a grid: one token per cell.
    Called on the network's maps, which the keypoint tokens read too."""

    def __init__(self, network: nn.Module, grid: int) -> None:
        super().__init__()
        self.network, self.grid, self.channels = network, grid, network.channels

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """The network's feature maps (N, C, h, w) -> (N, grid², C)."""
        return F.adaptive_avg_pool2d(maps, self.grid).flatten(2).transpose(1, 2)


class KeypointTokens(nn.Module):
    """Where each of `keypoints` learned feature maps peaks (bcz's spatial softmax), one token per
    keypoint: its (x, y) projected to the model's width plus an embedding of which keypoint it is.
    Grid tokens say where a feature is only by which cell it fell in; these say it in numbers."""

    def __init__(self, channels: int, keypoints: int, width: int) -> None:
        super().__init__()
        self.spatial_softmax = SpatialSoftmax(channels, keypoints)
        self.to_tokens = nn.Linear(2, width)
        self.identity = nn.Parameter(torch.randn(keypoints, width) * 0.02)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) -> (N, keypoints, width)."""
        return self.to_tokens(self.spatial_softmax(maps).unflatten(-1, (-1, 2))) + self.identity


def query_states(readout: torch.Tensor, width: int, positions: int) -> torch.Tensor:
    """Of a readout (..., chunk * QUERIES_PER_STEP * width), the first `positions` query states of
    each step of the chunk, step after step: (..., chunk * positions, width)."""
    states = readout.unflatten(-1, (-1, QUERIES_PER_STEP, width))[..., :positions, :]
    return states.flatten(-3, -2)


class PositionwiseLinear(nn.Module):
    """A linear map applied to each of the first `positions` query states of every step."""

    def __init__(self, width: int, outputs: int, positions: int) -> None:
        super().__init__()
        self.linear = nn.Linear(width, outputs)
        self.width, self.positions = width, positions

    def forward(self, readout: torch.Tensor) -> torch.Tensor:
        return self.linear(query_states(readout, self.width, self.positions)).flatten(-2)


class MultimodalSentenceModel(BaselineModel):
    """Subclasses implement `manipulation_head` and `navigation_head` over the readout."""

    config_class = MultimodalConfig

    def __init__(self, config: MultimodalConfig) -> None:
        super().__init__(config)
        c = config
        self.language_model = load_language_model(c.backbone_layers)
        self.language_model.add_lora(c.lora_rank, c.lora_alpha)
        self.pad_id = padding_id()
        width = self.width = self.language_model.shape.width
        if c.vision == "film_resnet":
            conditioning = c.language_dim if c.film_language == "sentence" else width
            network = ResNetEncoder(c.vision_widths, conditioning, film=True, early=False)
        elif c.vision == "efficientnet_lite0":
            network = EfficientNetLite0.pretrained(stages=5)
        else:
            network = ConvEncoder(c.vision_widths)
        self.vision = GridTokens(network, c.image_grid)
        self.to_tokens = nn.Linear(self.vision.channels, width)
        self.cell_position = nn.Parameter(torch.randn(c.image_grid ** 2, width) * 0.02)
        self.keypoint_tokens = KeypointTokens(self.vision.channels, c.keypoint_tokens, width) if c.keypoint_tokens else None
        self.camera_embedding = nn.Parameter(torch.zeros(c.cameras, 1, width))
        self.queries = nn.Parameter(torch.randn(c.queries, width) * 0.02)
        self.build_domain_layers(proprio_width=width if c.proprio else None, readout_width=c.queries * width,
                                 frame_width=c.cameras * c.image_tokens * width)

    def pretrained_keys(self) -> set[str]:
        return {f"language_model.{name}" for name in self.language_model.pretrained_names}

    def start_vision_from(self, donor: BaselineModel, source: str) -> None:
        """bcz's trunk (its stem and FiLM blocks) as this model's FiLM-ResNet: the same network when
        both read all-MiniLM-L6-v2's embedding and have the same widths."""
        c = self.config
        if c.vision != "film_resnet" or c.film_language != "sentence":
            raise UsageError(f"--vision-from needs --config vision=film_resnet --config film_language=sentence "
                             f"(bcz's trunk, conditioned as bcz's is), not vision={c.vision!r} "
                             f"film_language={c.film_language!r}")
        network = self.vision.network
        try:
            network.stem.load_state_dict(donor.stem.state_dict())
            network.blocks.load_state_dict(donor.blocks.state_dict())
        except (AttributeError, RuntimeError) as err:
            raise UsageError(f"{source} has no FiLM-ResNet that fits vision_widths={list(c.vision_widths)}: "
                             f"{str(err).splitlines()[0]}") from err

    def repeated_blocks(self) -> list[nn.Module]:
        return list(self.language_model.blocks)

    def encode_frames(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        """The language model reads the instruction (after the images, or before them with
        `words_first`); only a FiLM vision reads it here too."""
        maps = self.feature_maps(images, language)
        tokens = self.to_tokens(self.vision(maps)) + self.cell_position
        if self.keypoint_tokens is not None:
            tokens = torch.cat([tokens, self.keypoint_tokens(maps)], dim=1)
        tokens = tokens.unflatten(0, images.shape[:2]) + self.camera_embedding  # (N, cameras, tokens, D)
        return tokens.flatten(1, 2)

    def feature_maps(self, images: torch.Tensor, language: torch.Tensor) -> torch.Tensor:
        """Every camera's image (N, cameras, 3, H, W), with its frame's `language` row (N, ...) ->
        the vision's maps (N * cameras, C, h, w)."""
        if self.config.vision != "film_resnet":
            return self.vision.network(images.flatten(0, 1))
        ids, sentence = self.split_language(language)
        condition = sentence if sentence is not None else self.mean_word_embedding(ids)
        per_image = condition.repeat_interleave(images.shape[1], dim=0)
        return self.vision.network.feature_maps(images.flatten(0, 1), per_image)

    def split_language(self, language: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A `language` row (the instruction encoder's) -> the prompt's token ids (N, L) and, with
        `film_language="sentence"`, the sentence embedding after them (N, language_dim), else None."""
        if self.config.film_language != "sentence":
            return language, None
        length = self.config.instruction_tokens
        return language[:, :length].long(), language[:, length:].float()

    def mean_word_embedding(self, language: torch.Tensor) -> torch.Tensor:
        """The mean of the prompt's token embeddings, padding left out: (N, L) -> (N, width)."""
        present = (language != self.pad_id).unsqueeze(-1)
        words = self.language_model.embed(language)
        return (words * present).sum(1) / present.sum(1).clamp_min(1)

    def decide(self, features: torch.Tensor, proprio: torch.Tensor, language: torch.Tensor,
               domain: torch.Tensor) -> torch.Tensor:
        b = features.shape[0]
        images = features.flatten(1, 2)
        language, _ = self.split_language(language)  # the language model reads the prompt's tokens
        words = self.language_model.embed(language).to(images.dtype)
        state = [self.embed_proprio(proprio[:, -1], domain)[:, None].to(images.dtype)] if self.config.proprio else []
        queries = self.queries.to(images.dtype).expand(b, -1, -1)
        context = [words, images] if self.config.words_first else [images, words]
        sentence = torch.cat([*context, *state, queries], dim=1)
        present = torch.ones(b, sentence.shape[1], dtype=torch.bool, device=sentence.device)
        start = 0 if self.config.words_first else images.shape[1]
        present[:, start: start + language.shape[1]] = language != self.pad_id
        hidden = self.language_model(sentence, present)[:, -self.config.queries:]
        return hidden.flatten(1)[:, None]  # (B, 1, queries * D)

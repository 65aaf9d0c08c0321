"""The task encoder: a torchvision ResNet over channel-stacked (input, target) pairs, mean-pooled over the set.

TaCo uses a ResNet-50; ``resnet50`` builds it. The default ``resnet10`` (torchvision's
ResNet with one BasicBlock per stage) trains on 2 CPU cores in minutes. The first
convolution takes the two channels of a pair; pooling is the mean of the pair features
over the set, so the embedding does not depend on the order or the number of pairs.
Weights start random (``weights=None``): nothing is downloaded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet
from torchvision.models.resnet import BasicBlock

from curriclip.errors import ConfigError

ENCODERS = ("resnet10", "resnet18", "resnet34", "resnet50")


def backbone(name: str) -> tuple[nn.Module, int]:
    """A torchvision ResNet without its classifier, taking 2-channel input, and its feature width."""
    if name == "resnet10":
        net = resnet.ResNet(BasicBlock, [1, 1, 1, 1])
    elif name in ENCODERS:
        net = getattr(resnet, name)(weights=None)
    else:
        raise ConfigError(f"--encoder {name!r}: expected one of {', '.join(ENCODERS)}")
    net.conv1 = nn.Conv2d(2, 64, kernel_size=7, stride=2, padding=3, bias=False)
    width = net.fc.in_features
    net.fc = nn.Identity()
    return net, width


class TaskEncoder(nn.Module):
    """(B, m, 2, S, S) pair sets -> (B, dim) unit-norm task embeddings."""

    def __init__(self, name: str = "resnet10", dim: int = 128) -> None:
        super().__init__()
        self.net, width = backbone(name)
        self.head = nn.Sequential(nn.Linear(width, 256), nn.ReLU(inplace=True), nn.Linear(256, dim))

    def features(self, pair_sets: torch.Tensor) -> torch.Tensor:
        """Mean over the set of the ResNet features of each pair: (B, width)."""
        b, m = pair_sets.shape[:2]
        x = (pair_sets.flatten(0, 1) - 0.5) / 0.25  # [0, 1] pixels -> roughly zero-mean, unit-scale
        return self.net(x).view(b, m, -1).mean(dim=1)

    def forward(self, pair_sets: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.features(pair_sets)), dim=-1)

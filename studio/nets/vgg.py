"""VGG-16 convolution layers as a frozen feature extractor (Simonyan & Zisserman 2015).

The features of style transfer: Gram matrices or channel mean/std of relu1_1 .. relu4_1 describe
a style (Gatys et al. 2016; Huang & Belongie 2017), relu4_1 the content. Only the layers up to
the deepest requested output exist, so the network stops at relu4_1 by default (2.9 M weights).

Input: RGB in [0, 1], (B, 3, H, W), any H and W >= 1. The weights expect the Caffe convention
(0-255 pixels minus a per-channel mean, no division by a std), so that normalisation happens
here, inside the network. The weights file's first layer reads BGR; the converter
(studio/training/vgg_features.py) reorders conv1_1's input channels so this module reads RGB.
Pooling rounds up (ceil), as the source's 'same' max-pooling does, so odd sizes keep every
pixel: relu{k}_1 is (B, C_k, ceil(H / 2**(k-1)), ceil(W / 2**(k-1))).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

# VGG-16's convolutions in order: (name, in channels, out channels); "pool" halves the size.
LAYERS: tuple[tuple[str, int, int] | str, ...] = (
    ("conv1_1", 3, 64),
    ("conv1_2", 64, 64),
    "pool",
    ("conv2_1", 64, 128),
    ("conv2_2", 128, 128),
    "pool",
    ("conv3_1", 128, 256),
    ("conv3_2", 256, 256),
    ("conv3_3", 256, 256),
    "pool",
    ("conv4_1", 256, 512),
    ("conv4_2", 512, 512),
    ("conv4_3", 512, 512),
    "pool",
    ("conv5_1", 512, 512),
    ("conv5_2", 512, 512),
    ("conv5_3", 512, 512),
)
# Mean pixel the weights were trained with (HED's Caffe mean, BGR order in the source), in RGB
CAFFE_MEAN_RGB = (122.67892, 116.66877, 104.00699)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


@dataclass(frozen=True)
class VGGConfig:
    # relu outputs, shallow to deep; the network ends at the deepest one
    outputs: tuple[str, ...] = STYLE_LAYERS


def feature_channels(name: str) -> int:
    """Channels of a relu output, e.g. 'relu4_1' -> 512."""
    for layer in LAYERS:
        if isinstance(layer, tuple) and layer[0] == "conv" + name.removeprefix("relu"):
            return layer[2]
    raise ValueError(f"VGG-16 has no layer {name!r}")


class VGGFeatures(nn.Module):
    """image (B, 3, H, W) RGB in [0, 1] -> one relu feature map per `config.outputs`."""

    def __init__(self, config: VGGConfig) -> None:
        super().__init__()
        convs = [f"conv{name.removeprefix('relu')}" for name in config.outputs]
        names = [layer[0] for layer in LAYERS if isinstance(layer, tuple)]
        unknown = [c for c in convs if c not in names]
        if not convs or unknown:
            raise ValueError(f"VGGConfig.outputs must name VGG-16 relus, not {config.outputs}")
        if [names.index(c) for c in convs] != sorted({names.index(c) for c in convs}):
            raise ValueError(f"VGGConfig.outputs must be distinct, shallow to deep: {convs}")
        self.config = config
        last = LAYERS.index(next(x for x in LAYERS if isinstance(x, tuple) and x[0] == convs[-1]))
        self.plan = LAYERS[: last + 1]  # the layers that run, in order
        self.convs = nn.ModuleDict(
            {layer[0]: nn.Conv2d(layer[1], layer[2], 3, padding=1) for layer in self.plan
             if isinstance(layer, tuple)}
        )  # fmt: skip
        self.requires_grad_(False)  # a fixed feature extractor; the image may still need grad
        mean = torch.tensor(CAFFE_MEAN_RGB).view(1, 3, 1, 1) / 255.0
        self.mean: torch.Tensor
        self.register_buffer("mean", mean, persistent=False)  # not a weight: kept out of files

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """image (B, 3, H, W) RGB in [0, 1] -> relu features (B, C_k, H_k, W_k), ReLU'd (>= 0),
        in the order of `config.outputs`."""
        x = (image - self.mean) * 255.0  # Caffe convention: 0-255 minus the mean pixel
        wanted = {f"conv{name.removeprefix('relu')}" for name in self.config.outputs}
        features = []
        for layer in self.plan:
            if isinstance(layer, str):
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)  # (B, C, ceil(H/2), ceil(W/2))
                continue
            x = F.relu(self.convs[layer[0]](x))
            if layer[0] in wanted:
                features.append(x)
        return tuple(features)

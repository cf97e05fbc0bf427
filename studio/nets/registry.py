"""Explicit registry of network architectures a manifest may name for the torch backend."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from torch import nn

from studio.core.errors import ModelError
from studio.nets import adain, dcgan, flow, gpt, pixelcnn, rbm, stylegan, unet, vae, vgg, wavenet

ARCHITECTURES: dict[str, tuple[type[nn.Module], type]] = {}


def register(name: str, module: type[nn.Module], config: type) -> None:
    if name in ARCHITECTURES:
        raise ValueError(f"architecture {name!r} is already registered")
    ARCHITECTURES[name] = (module, config)


register("dcgan", dcgan.Generator, dcgan.DCGANConfig)
register("vae-encoder", vae.VAEEncoder, vae.VAEConfig)
register("vae-decoder", vae.VAEDecoder, vae.VAEConfig)
register("flow-encoder", flow.FlowEncoder, flow.FlowConfig)
register("flow-decoder", flow.FlowDecoder, flow.FlowConfig)
register("unet", unet.UNet, unet.UNetConfig)
register("pixelcnn", pixelcnn.PixelCNN, pixelcnn.PixelCNNConfig)
register("rbm-hidden", rbm.RBMHidden, rbm.RBMConfig)
register("rbm-visible", rbm.RBMVisible, rbm.RBMConfig)
register("gpt", gpt.GPT, gpt.GPTConfig)
register("gpt-step", gpt.GPTStep, gpt.GPTConfig)
register("wavenet", wavenet.WaveNet, wavenet.WaveNetConfig)
register("wavenet-block", wavenet.WaveNetBlock, wavenet.WaveNetConfig)
register("vgg16-features", vgg.VGGFeatures, vgg.VGGConfig)
register("adain-decoder", adain.Decoder, adain.DecoderConfig)
register("stylegan-mapping", stylegan.Mapping, stylegan.StyleGANConfig)
register("stylegan-synthesis", stylegan.Synthesis, stylegan.StyleGANConfig)


def build(name: str, config: Mapping[str, Any]) -> nn.Module:
    """Instantiate architecture `name` with manifest `config` (keys of its config dataclass)."""
    if name not in ARCHITECTURES:
        raise ModelError(
            f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    module_cls, config_cls = ARCHITECTURES[name]
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ModelError(
            f"architecture {name!r} has no config keys {unknown}; known: {sorted(known)}"
        )
    # TOML has no tuples: turn lists back into the tuples the config dataclasses use
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    try:
        return module_cls(config_cls(**values))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"architecture {name!r} rejects config {dict(config)} ({exc})") from exc

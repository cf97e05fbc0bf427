"""Write tests/data/reference_outputs.json: what every bundled model makes at a fixed seed.

Run it only when a change in what a model makes is intended (retrained weights, a sampler or
prior fix, a new default in a manifest), look at the diff of the JSON, and commit it with the
change that caused it, saying why in the commit message:

    .venv/bin/python scripts/write_reference_outputs.py

For each bundled model the JSON holds the settings it ran (`SPECS` below, through the engine's
job API as the command line uses it, on the default backend), the sha256 of the raw output
(uint8 pixels, float32 samples or UTF-8 text) and a few summary numbers. It also records this
machine's fingerprint (CPU instruction sets, thread count, runtime versions):
tests/test_reproducible.py demands the exact sha256 where the fingerprint is the same, and
compares the summary numbers within a tolerance elsewhere, because ONNX Runtime and torch pick
different float kernels per CPU and thread count, so the last bits may differ.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run the tree this script is in, not an installed copy

from studio.core.audio_request import AudioRequest  # noqa: E402
from studio.core.catalog import Catalog  # noqa: E402
from studio.core.manifest import file_sha256  # noqa: E402
from studio.core.style_request import StyleRequest  # noqa: E402
from studio.engine.run import run_to_completion  # noqa: E402
from studio.engine.runtime import ModelRuntime  # noqa: E402

REFERENCE_FILE = ROOT / "tests" / "data" / "reference_outputs.json"
SEED = 3

# model id -> how its reference is made; small enough that all of them run in seconds
SPECS: dict[str, dict[str, Any]] = {
    "gan-emoji-32": {"kind": "image", "settings": {"seed": SEED, "grid": [2, 2]}},
    "vae-emoji-32": {"kind": "image", "settings": {"seed": SEED, "grid": [2, 2]}},
    "flow-emoji-32": {"kind": "image", "settings": {"seed": SEED, "grid": [2, 2]}},
    "ddpm-emoji-32": {"kind": "image", "settings": {"seed": SEED, "steps": 5}},
    # a full PixelCNN picture takes ~15 s: complete the last rows of a white one instead
    "pixelcnn-emoji-32": {"kind": "image", "settings": {"seed": SEED}, "side": 32, "free_rows": 3},
    "rbm-glyphs-28": {"kind": "image", "settings": {"seed": SEED, "steps": 20, "grid": [1, 2]}},
    "gpt-kjv": {"kind": "text", "settings": {"seed": SEED, "max_tokens": 48}},
    "wavenet-notes-16k": {
        "kind": "audio",
        "settings": {"seed": SEED, "pitch": 64, "mix": {"Violin": 1.0}, "seconds": 0.15},
    },
    "adain-style": {
        "kind": "style",
        "settings": {"method": "fast", "size": 48, "strength": 0.8, "seed": SEED},
    },
    "vgg16-features": {
        "kind": "style",
        "settings": {"method": "optimize", "size": 32, "iterations": 3, "seed": SEED},
    },
}

# CPU features that select ONNX Runtime's (MLAS) and torch's float kernels on x86 and ARM
KERNEL_FLAGS = (
    "sse4_1",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "asimd",
    "asimdhp",
    "sve",
)


@dataclass(frozen=True)
class Output:
    sha256: str  # of the raw output bytes
    summary: dict[str, Any]  # rounded numbers a tolerance can compare across CPUs


def fingerprint() -> dict[str, Any]:
    """What decides the last bits of a float result besides the code and the weights."""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags.update(line.partition(":")[2].split())
    except OSError:
        pass
    versions = {}
    for package in ("numpy", "onnxruntime", "torch"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "machine": platform.machine(),
        "cpu_flags": sorted(flags.intersection(KERNEL_FLAGS)),
        "cpu_count": os.cpu_count(),
        **versions,
    }


def style_pictures(folder: Path) -> tuple[Path, Path]:
    """A 64x48 gradient 'photo' and a striped 'painting', drawn here so the script needs no
    data; written as PNG (lossless), so the pixels are exact."""
    from PIL import Image

    y, x = np.mgrid[0:48, 0:64]
    photo = np.stack([x * 3, y * 4, np.full_like(x, 120)], -1).astype(np.uint8)
    stripes = np.stack([(np.sin(x / 2.0) > 0) * 220, np.full_like(x, 40), (y % 8 < 4) * 200], -1)
    paths = folder / "photo.png", folder / "stripes.png"
    Image.fromarray(photo).save(paths[0])
    Image.fromarray(stripes.astype(np.uint8)).save(paths[1])
    return paths


def image_summary(pixels: np.ndarray) -> dict[str, Any]:
    grey = pixels.astype(np.float64).mean(axis=-1)
    thumb = [
        [round(float(block.mean()), 1) for block in np.array_split(band, 4, axis=1)]
        for band in np.array_split(grey, 4, axis=0)
    ]
    return {
        "shape": list(pixels.shape),
        "mean": round(float(pixels.mean()), 3),
        "std": round(float(pixels.std()), 3),
        "thumb": thumb,  # 4x4 block means of the grey level
    }


def audio_summary(audio: np.ndarray) -> dict[str, Any]:
    return {
        "samples": len(audio),
        "rms": round(float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))), 5),
        "envelope": [  # RMS of 6 equal stretches
            round(float(np.sqrt(np.mean(part.astype(np.float64) ** 2))), 5)
            for part in np.array_split(audio, 6)
        ],
    }


def text_summary(completion: str) -> dict[str, Any]:
    return {"chars": len(completion), "prefix": completion[:24]}


def render(runtime: ModelRuntime, model_id: str, folder: Path) -> Output:
    """Make `model_id`'s reference output; `folder` is where the style pictures go."""
    spec = SPECS[model_id]
    settings = dict(spec["settings"])
    if spec["kind"] == "image":
        if "grid" in settings:
            settings["grid"] = tuple(settings["grid"])
        if "free_rows" in spec:
            side = spec["side"]
            known = np.zeros((side, side))  # palette index 0: white
            known[side - spec["free_rows"] :] = -1  # drawn by the model
            settings["latent"] = tuple(known.ravel())
        request = runtime.default_request(model_id, **settings)
        pixels = run_to_completion(runtime.image_job(request)).pixels
        return Output(sha256_of(np.ascontiguousarray(pixels).tobytes()), image_summary(pixels))
    if spec["kind"] == "text":
        text_request = runtime.default_text_request(model_id, **settings)
        completion = run_to_completion(runtime.text_job(text_request)).completion
        return Output(sha256_of(completion.encode("utf-8")), text_summary(completion))
    if spec["kind"] == "audio":
        settings["mix"] = tuple(settings["mix"].items())
        audio = run_to_completion(runtime.audio_job(AudioRequest(model_id, **settings))).audio
        samples = np.ascontiguousarray(audio, "<f4")
        return Output(sha256_of(samples.tobytes()), audio_summary(samples))
    content, style = style_pictures(folder)
    style_request = StyleRequest(
        content=str(content),
        content_sha256=file_sha256(content),
        style=str(style),
        style_sha256=file_sha256(style),
        model_id=model_id,
        **settings,
    )
    pixels = run_to_completion(runtime.style_job(style_request)).pixels
    return Output(sha256_of(np.ascontiguousarray(pixels).tobytes()), image_summary(pixels))


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundled_model_ids(catalog: Catalog) -> list[str]:
    return sorted(
        entry.manifest.id
        for entry in catalog.entries
        if entry.source == "bundled" and entry.manifest is not None
    )


def build() -> dict[str, Any]:
    catalog = Catalog()
    missing = set(bundled_model_ids(catalog)) - set(SPECS)
    if missing:
        raise SystemExit(f"no reference settings for {sorted(missing)}: add them to SPECS")
    runtime = ModelRuntime(catalog)
    models = {}
    with tempfile.TemporaryDirectory() as folder:
        for model_id in bundled_model_ids(catalog):
            output = render(runtime, model_id, Path(folder))
            models[model_id] = {
                "spec": SPECS[model_id],
                "sha256": output.sha256,
                "summary": output.summary,
            }
            print(f"{model_id:<20} {output.sha256[:16]}")
    return {
        "about": "written by scripts/write_reference_outputs.py; rerun it when a model's "
        "output is meant to change",
        "fingerprint": fingerprint(),
        "models": models,
    }


def dumps(data: dict[str, Any]) -> str:
    """JSON with each list or object of plain values on one line: short to read and diff."""

    def one_line(match: re.Match[str]) -> str:
        inner = re.sub(r"\s*\n\s*", " ", match.group()[1:-1]).strip()
        return match.group()[0] + inner + match.group()[-1]

    text = re.sub(r"[\[{][^\[\]{}]*[\]}]", one_line, json.dumps(data, indent=1)) + "\n"
    assert json.loads(text) == data  # only whitespace between values was touched
    return text


def main() -> int:
    data = build()
    REFERENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE_FILE.write_text(dumps(data))
    print(f"wrote {REFERENCE_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

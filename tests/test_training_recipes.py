"""Every recipe, retrained tiny for a few steps, writes the bundled model's manifest apart from
hashes, sizes the tiny config changes, and numbers a run measures.

What must match exactly: id, name, family, modality; every network's name, architecture,
files, config keys, tensor names, ranks and named axes; [io] (ranges and priors exactly, shapes
by rank and named axes); [parameters] but those listed in DATA_DERIVED; [directions]; the
[metrics] keys (but timings a tiny run skips); origin's train command, data and licence.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from studio.core.bundled import bundled_models_dir
from studio.core.manifest import parse_manifest
from studio.training.loop import Run

# parameters whose values come from the data or the trained weights: compared by type
DATA_DERIVED = {
    "vae-emoji-32": {"decoder_sigma"},
    "pixelcnn-emoji-32": {"palette"},
    "rbm-glyphs-28": {"initial_density"},
    "wavenet-notes-16k": {"pitch_range", "timbre_table", "loudness_table"},
}
# metrics a tiny run does not measure (ONNX Runtime timings at up to 1024 px)
NOT_MEASURED = {"adain-style": "ort_seconds_"}


def _shape(dims: list[Any]) -> list[Any]:
    return [d if isinstance(d, str) else "#" for d in dims]


def _tensor(spec: dict[str, Any]) -> tuple[list[Any], str]:
    return _shape(spec["shape"]), spec.get("dtype", "float32")


def comparable(manifest: dict[str, Any], model_id: str) -> dict[str, Any]:
    """The parts of a manifest that a retraining must reproduce (see the module docstring)."""
    networks = {
        name: {
            **{k: v for k, v in net.items() if k not in ("config", "inputs", "outputs")},
            **{k: {"path": net[k]["path"]} for k in ("onnx", "safetensors") if k in net},
            "config": sorted(net.get("config", {})),
            "inputs": {t: _tensor(s) for t, s in net["inputs"].items()},
            "outputs": {t: _tensor(s) for t, s in net["outputs"].items()},
        }
        for name, net in manifest["networks"].items()
    }
    io = {
        role: {**spec, "shape": _shape(spec["shape"])}
        for role, spec in manifest.get("io", {}).items()
    }
    derived = DATA_DERIVED.get(model_id, set())
    parameters = {
        k: type(v).__name__ if k in derived else v
        for k, v in manifest.get("parameters", {}).items()
    }
    skipped = NOT_MEASURED.get(model_id)
    metrics = sorted(k for k in manifest.get("metrics", {}) if not skipped or skipped not in k)
    origin = dict(manifest["origin"])
    assert isinstance(origin.pop("onnx_torch_max_abs_diff"), float)
    top = {k: manifest[k] for k in ("id", "name", "family", "modality")}
    extras = {k: manifest[k] for k in ("directions",) if k in manifest}
    return {
        **top,
        **extras,
        "networks": networks,
        "io": io,
        "parameters": parameters,
        "metrics": metrics,
        "origin": origin,
    }


def assert_reproduces_bundled(folder: Path, model_id: str) -> None:
    parse_manifest(folder / "manifest.toml")  # a model the app accepts
    bundled = tomllib.loads((bundled_models_dir() / model_id / "manifest.toml").read_text())
    retrained = tomllib.loads((folder / "manifest.toml").read_text())
    assert comparable(retrained, model_id) == comparable(bundled, model_id)


def _pictures(count: int, size: int = 8) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def _gan(out: Path, run: Run) -> str:
    from studio.nets.dcgan import DCGANConfig
    from studio.training import gan_emoji

    net = DCGANConfig(latent_dim=8, image_size=8, base_channels=4)
    gan_emoji.build(out, run, images=_pictures(32), net=net)
    return gan_emoji.MODEL_ID


def _vae(out: Path, run: Run) -> str:
    from studio.nets.vae import VAEConfig
    from studio.training import vae_emoji

    net = VAEConfig(latent_dim=8, image_size=8, base_channels=8)
    vae_emoji.build(out, run, images=_pictures(330), net=net)
    return vae_emoji.MODEL_ID


def _flow(out: Path, run: Run) -> str:
    from studio.nets.flow import FlowConfig
    from studio.training import flow_emoji

    net = FlowConfig(image_size=8, levels=2, steps=2, hidden=8)
    flow_emoji.build(out, run, images=_pictures(80), net=net)
    return flow_emoji.MODEL_ID


def _ddpm(out: Path, run: Run) -> str:
    from studio.nets.unet import UNetConfig
    from studio.training import diffusion

    net = UNetConfig(image_size=8, base_channels=8, multipliers=(1, 2), time_dim=16, patch=1)
    diffusion.build(out, run, images=_pictures(64), net=net)
    return diffusion.MODEL_ID


def _pixelcnn(out: Path, run: Run) -> str:
    from studio.nets.pixelcnn import PixelCNNConfig
    from studio.training import pixelcnn

    net = PixelCNNConfig(image_size=8, palette_size=4, channels=8, layers=3, kernel=3)
    pixelcnn.build(out, run, images=_pictures(64), net=net)
    return pixelcnn.MODEL_ID


def _rbm(out: Path, run: Run) -> str:
    from studio.nets.rbm import RBMConfig
    from studio.training import rbm

    glyphs = (np.random.default_rng(0).random((80, 8, 8)) < 0.3).astype(np.uint8)
    rbm.build(out, run, glyphs=glyphs, net=RBMConfig(visible=64, hidden=16))
    return rbm.MODEL_ID


def _gpt(out: Path, run: Run) -> str:
    from studio.nets.gpt import GPTConfig
    from studio.training import gpt_text

    words = ["And", "it", "came", "to", "pass", "the", "LORD", "said", "unto", "Moses"]
    text = " ".join(words[i] for i in np.random.default_rng(1).integers(0, 10, 90_000))
    config = GPTConfig(block_size=32, n_layer=2, n_head=2, n_embd=16)
    gpt_text.build(out, run, text=text, config=config)
    return gpt_text.MODEL_ID


def _wavenet(out: Path, run: Run) -> str:
    from studio.nets.wavenet import WaveNetConfig
    from studio.training import wavenet_notes
    from studio.training.notes_data import INSTRUMENTS, NotesData

    notes = [(k, p, v) for k in range(len(INSTRUMENTS)) for p in (50, 52) for v in (60, 90, 120)]
    instrument, pitch, velocity = (np.array(column) for column in zip(*notes, strict=True))
    t = np.arange(2000) / 16000
    f0 = 440.0 * 2.0 ** ((pitch[:, None] - 69) / 12)
    audio = (0.3 * np.exp(-30 * t) * np.sin(2 * np.pi * f0 * t)).astype(np.float32)
    names = tuple(name for name, _ in INSTRUMENTS)
    data = NotesData(audio, pitch, instrument, velocity, names)
    config = WaveNetConfig(
        channels=8, skip_channels=8, head_channels=16, dilations=(1, 3, 9, 1, 3, 9),
        pitch_size=4, instruments=len(names), timbre_size=4,
    )  # fmt: skip
    wavenet_notes.build(out, run, data=data, config=config, batch_size=2, crop=300)
    return wavenet_notes.MODEL_ID


def _adain(out: Path, run: Run) -> str:
    from studio.nets.adain import DecoderConfig
    from studio.training import adain

    rng = np.random.default_rng(0)
    pictures = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(4)]
    settings = adain.AdaINSettings(batch_size=2, crop=32)
    adain.build(
        out, run, DecoderConfig(width=16), settings, pictures[:2], pictures[2:], measure=False
    )
    return adain.MODEL_ID


def _vgg(out: Path, run: Run) -> str:
    from studio.training import vgg_features
    from studio.training.vgg_weights import frozen_vgg

    photos = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    vgg_features.build(out, run, model=frozen_vgg(), photos=photos)
    return vgg_features.MODEL_ID


# (tiny recipe, whether it takes longer than a few seconds on two busy cores)
RECIPES: dict[str, tuple[Callable[[Path, Run], str], bool]] = {
    "gan": (_gan, True),
    "vae": (_vae, False),
    "flow": (_flow, True),
    "ddpm": (_ddpm, True),
    "pixelcnn": (_pixelcnn, False),
    "rbm": (_rbm, False),
    "gpt": (_gpt, True),
    "wavenet": (_wavenet, False),
    "adain": (_adain, True),
    "vgg": (_vgg, True),
}


@pytest.mark.parametrize(
    "recipe",
    [
        pytest.param(name, marks=[pytest.mark.slow] if slow else [])
        for name, (_, slow) in RECIPES.items()
    ],
)
def test_a_tiny_retraining_reproduces_the_bundled_manifest(recipe: str, tmp_path: Path) -> None:
    build, _ = RECIPES[recipe]
    work, threads = tmp_path / "work", torch.get_num_threads()
    try:
        model_id = build(tmp_path / "out", Run(work, minutes=5.0, max_steps=2))
    finally:
        torch.set_num_threads(threads)  # the GAN recipe sets its own
    assert_reproduces_bundled(tmp_path / "out", model_id)
    if recipe != "vgg":  # a conversion: nothing trained, no loop
        assert (work / "checkpoint.safetensors").is_file()
        assert (work / "checkpoint.json").is_file()


def test_every_bundled_model_has_a_recipe() -> None:
    from studio.training.__main__ import RECIPES as REGISTERED

    bundled = {p.parent.name for p in bundled_models_dir().glob("*/manifest.toml")}
    assert bundled <= set(REGISTERED)


def test_the_comparison_sees_a_dropped_licence_and_a_renamed_tensor() -> None:
    bundled = tomllib.loads((bundled_models_dir() / "gpt-kjv" / "manifest.toml").read_text())
    reference = comparable(bundled, "gpt-kjv")
    unlicensed = {**bundled, "origin": {**bundled["origin"], "licence": "none"}}
    assert comparable(unlicensed, "gpt-kjv") != reference
    renamed = tomllib.loads((bundled_models_dir() / "gpt-kjv" / "manifest.toml").read_text())
    renamed["networks"]["step"]["inputs"]["tok"] = renamed["networks"]["step"]["inputs"].pop(
        "token"
    )
    assert comparable(renamed, "gpt-kjv") != reference
    resized = tomllib.loads((bundled_models_dir() / "gpt-kjv" / "manifest.toml").read_text())
    resized["networks"]["forward"]["inputs"]["tokens"]["shape"] = ["batch", 32]
    resized["metrics"]["training_steps"] = 2
    assert comparable(resized, "gpt-kjv") == reference

"""The contract every bundled model meets, run over all of models/ on the real weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.backends.base import concrete_shape
from studio.backends.select import open_session
from studio.core.audio_request import AudioRequest
from studio.core.catalog import BUNDLED_MODELS, Catalog
from studio.core.manifest import file_sha256, verify_sha256
from studio.core.pitch import cents, harmonic_f0
from studio.core.requests import ImageRequest
from studio.core.style_request import StyleRequest
from studio.core.text_request import TextRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.families.latent_image import LatentImageFamily
from studio.families.registry import family_for
from studio.families.style_features import StyleFeaturesFamily
from studio.families.wavenet import WaveNetFamily

CATALOG = Catalog([(BUNDLED_MODELS, "bundled")])
IDS = [m.id for m in CATALOG.manifests]
IMAGE_IDS = [m.id for m in CATALOG.manifests if m.modality == "image"]
TEXT_IDS = [m.id for m in CATALOG.manifests if m.modality == "text"]
AUDIO_IDS = [m.id for m in CATALOG.manifests if m.modality == "audio"]
ADAIN_IDS = [m.id for m in CATALOG.manifests if m.family == "adain"]
SAMPLED = {"audio", "classes"}  # outputs drawn by inverse CDF: a near-tie may split
RAW_TOLERANCE = 1e-4  # ONNX Runtime vs torch eager, on the network's raw float output


@pytest.fixture(scope="module")
def runtime() -> ModelRuntime:
    return ModelRuntime(CATALOG)


def test_every_bundled_folder_has_a_valid_manifest() -> None:
    assert IDS, "no bundled models found"
    broken = {e.folder.name: str(e.error) for e in CATALOG.entries if e.error}
    assert broken == {}


@pytest.mark.parametrize("model_id", IDS)
def test_manifest_files_and_origin(model_id: str) -> None:
    manifest = CATALOG.get(model_id)
    family_for(manifest)
    for name, network in manifest.networks.items():
        for fmt in ("onnx", "safetensors"):
            weights = getattr(network, fmt)
            if weights is not None:
                verify_sha256(weights, manifest.folder / "manifest.toml", f"networks.{name}")
                assert weights.path.stat().st_size < 20_000_000, "keep bundled models small"
    for key in ("train", "data", "licence"):
        assert manifest.origin.get(key), f"origin.{key} must say how to rebuild it"
    assert manifest.backends == ("onnx", "torch")


@pytest.mark.parametrize("model_id", IMAGE_IDS)
def test_output_shape_range_and_determinism(runtime: ModelRuntime, model_id: str) -> None:
    manifest = CATALOG.get(model_id)
    assert manifest.output_shape is not None and manifest.output_range is not None
    channels, height, width = manifest.output_shape
    # a PixelCNN runs its network once per pixel: two cells keep this test quick
    rows = 1 if manifest.family == "pixelcnn" else 2
    grid = (rows, 2)
    first = run_to_completion(runtime.image_job(ImageRequest(model_id, seed=3, grid=grid)))
    again = run_to_completion(runtime.image_job(ImageRequest(model_id, seed=3, grid=grid)))
    other = run_to_completion(runtime.image_job(ImageRequest(model_id, seed=4, grid=grid)))
    assert first.pixels.shape == (rows * height, 2 * width, 3) and first.pixels.dtype == np.uint8
    np.testing.assert_array_equal(first.pixels, again.pixels)
    assert not np.array_equal(first.pixels, other.pixels)
    # Not a constant or collapsed output: the four cells differ from each other.
    cells = first.pixels.reshape(rows, height, 2, width, 3).transpose(0, 2, 1, 3, 4)
    cells = cells.reshape(rows * 2, -1)
    assert len({c.tobytes() for c in cells}) == rows * 2
    # The raw output stays inside the declared range at the model's default temperature.
    family = runtime.family(model_id, "onnx")
    if not isinstance(family, LatentImageFamily) or manifest.family == "diffusion":
        return  # the network predicts noise, or draws palette indices / probabilities
    session = family.sessions[family.decoder_network]
    low, high = manifest.output_range
    temperature = float(manifest.parameters.get("default_temperature", 1.0))
    sample = ImageRequest(model_id, seed=3, grid=(4, 4), temperature=temperature)
    latents = family.latents(sample)
    raw = session.run({session.spec.inputs[0].name: latents})[session.spec.outputs[0].name]
    assert raw.shape == (16, channels, height, width)
    # bounded decoders (tanh) stay exactly in range; a flow's inverse is unbounded in
    # principle: at its default temperature it must stay finite and within a tenth of it
    slack = 0.1 * (high - low) if manifest.family == "flow" else 1e-6
    assert np.isfinite(raw).all()
    inside = (raw >= low - slack) & (raw <= high + slack)
    assert inside.mean() >= (0.99 if manifest.family == "flow" else 1.0)


@pytest.mark.parametrize("model_id", IDS)
def test_onnx_and_torch_agree(model_id: str) -> None:
    """Every network, every output, relative to the output's scale (a flow's log density is
    a sum over 3,072 dimensions, in the thousands)."""
    manifest = CATALOG.get(model_id)
    rng = np.random.default_rng(0)
    for name, spec in manifest.networks.items():
        feed = {}
        for tensor in spec.inputs:
            shape = concrete_shape(tensor.shape, batch=8)  # free axes (batch, height) -> 8
            if tensor.name == "image":
                low, high = manifest.input_range or (-1.0, 1.0)
                feed["image"] = rng.uniform(low, high, shape).astype(np.float32)
            elif tensor.name == "t":  # diffusion timesteps
                feed["t"] = rng.uniform(0, 999, shape).astype(np.float32)
            elif tensor.name in ("tokens", "token"):  # byte ids
                feed[tensor.name] = rng.integers(0, 256, shape).astype(np.float32)
            elif tensor.name == "position":  # a slot of the KV cache
                block = spec.inputs[2].shape[3]
                feed["position"] = rng.integers(0, block, shape).astype(np.float32)
            elif tensor.name == "previous":  # a mu-law class
                feed["previous"] = rng.integers(0, 256, shape).astype(np.float32)
            elif tensor.name == "pitch":  # MIDI notes
                feed["pitch"] = rng.integers(48, 73, shape).astype(np.float32)
            elif tensor.name in ("uniform", "temperature"):
                feed[tensor.name] = rng.uniform(0.05, 1.0, shape).astype(np.float32)
            else:
                feed[tensor.name] = (rng.standard_normal(shape) * 0.5).astype(np.float32)
        onnx = open_session(manifest, name, "onnx", "cpu").run(feed)
        torch = open_session(manifest, name, "torch", "cpu").run(feed)
        for output in spec.outputs:
            a, b = onnx[output.name], torch[output.name]
            if output.name in SAMPLED:
                assert (a == b).mean() > 0.95, f"{name}.{output.name}"
                continue
            scale = max(1.0, float(np.abs(b).max()))
            assert np.abs(a - b).max() / scale < RAW_TOLERANCE, f"{name}.{output.name}"


@pytest.mark.parametrize("model_id", IMAGE_IDS)
def test_every_direction_moves_the_picture(runtime: ModelRuntime, model_id: str) -> None:
    info = runtime.describe(model_id)
    if info.manifest.latent_shape is None:
        pytest.skip(f"{info.manifest.family} models have no latent space to steer")
    assert len(info.direction_names) >= 8
    base = run_to_completion(runtime.image_job(ImageRequest(model_id, seed=1))).pixels
    for name in info.direction_names:
        moved = ImageRequest(model_id, seed=1, offsets=((name, 2.0),))
        pixels = run_to_completion(runtime.image_job(moved)).pixels
        assert np.abs(pixels.astype(int) - base).mean() > 1.0, f"{name} barely moves the image"


@pytest.mark.parametrize("model_id", TEXT_IDS)
def test_text_is_deterministic_per_seed_and_cache_exact(runtime: ModelRuntime, model_id: str):
    def text(**settings) -> str:
        request = TextRequest(model_id, prompt="And the", max_tokens=48, **settings)
        return run_to_completion(runtime.text_job(request)).completion

    first, again, other = text(seed=3), text(seed=3), text(seed=4)
    assert len(first.encode()) == 48 and first == again and first != other
    assert text(temperature=0.0) == text(temperature=0.0, use_cache=False)
    assert text(temperature=0.0, backend="onnx") == text(temperature=0.0, backend="torch")


@pytest.mark.parametrize("model_id", AUDIO_IDS)
def test_notes_are_deterministic_per_seed_and_in_range(runtime: ModelRuntime, model_id: str):
    def note(**settings) -> np.ndarray:
        request = AudioRequest(model_id, seconds=0.1, **settings)
        return run_to_completion(runtime.audio_job(request)).audio

    first = note(seed=3)
    assert first.shape == (1600,) and first.dtype == np.float32
    assert np.abs(first).max() <= 1.0
    np.testing.assert_array_equal(first, note(seed=3))
    assert not np.array_equal(first, note(seed=4))


@pytest.fixture(scope="module")
def photo_and_painting(tmp_path_factory) -> tuple[Path, Path]:
    """A 'photo' (soft gradients, a disc, a bar: something with a layout) and the gallery's
    blue brush strokes."""
    folder = tmp_path_factory.mktemp("adain")
    y, x = np.mgrid[0:192, 0:256] / 256
    photo = np.stack([0.3 + 0.5 * x, 0.6 - 0.3 * y, 0.4 + 0.2 * np.sin(6 * x)], -1)
    photo[(x - 0.35) ** 2 + (y - 0.35) ** 2 < 0.03] = (0.9, 0.8, 0.2)  # a yellow disc
    photo[(np.abs(y - 0.6) < 0.05) & (x > 0.5)] = (0.15, 0.1, 0.3)  # a dark bar
    path = folder / "photo.png"
    Image.fromarray((photo * 255).astype(np.uint8)).save(path)
    return path, BUNDLED_MODELS.parent / "assets" / "styles" / "brush-strokes-blue.png"


@pytest.mark.parametrize("model_id", ADAIN_IDS)
def test_adain_moves_the_statistics_to_the_style_and_strength_0_reconstructs(
    runtime: ModelRuntime, model_id: str, photo_and_painting
) -> None:
    photo, painting = photo_and_painting

    def stylise(**settings) -> np.ndarray:
        request = StyleRequest(
            str(photo), file_sha256(photo), str(painting), file_sha256(painting),
            model_id=model_id, method="fast", size=256, **settings,
        )  # fmt: skip
        return run_to_completion(runtime.style_job(request)).pixels

    encoder = runtime.family(CATALOG.get(model_id).parameters["encoder_model"])
    assert isinstance(encoder, StyleFeaturesFamily)

    def statistics(pixels: np.ndarray) -> np.ndarray:
        """Channel means and stds of relu1_1 .. relu4_1: what AdaIN's style loss compares."""
        layers = encoder.features(pixels).values()
        return np.concatenate([np.r_[f[0].mean((1, 2)), f[0].std((1, 2))] for f in layers])

    original = np.asarray(Image.open(photo).convert("RGB"))
    style = statistics(np.asarray(Image.open(painting).convert("RGB").resize((256, 256))))
    stylised, plain = stylise(), stylise(strength=0.0)
    before = np.linalg.norm(statistics(original) - style)
    after = np.linalg.norm(statistics(stylised) - style)
    assert after < 0.7 * before, (after, before)  # adain-style: 0.57
    mse = np.mean((plain.astype(float) - original) ** 2)
    assert 10 * np.log10(255**2 / mse) > 18  # the decoder's reconstruction: 20.1 dB


@pytest.mark.parametrize("model_id", AUDIO_IDS)
def test_notes_sound_at_the_requested_pitch(runtime: ModelRuntime, model_id: str) -> None:
    """Conditioning matters: a fifth and an octave apart, each note is heard at its pitch."""
    family = runtime.family(model_id)
    assert isinstance(family, WaveNetFamily)
    chosen = [n for n in ("Flute", "Cello", "Electric Piano") if n in family.instruments]
    for instrument in chosen or list(family.instruments[:2]):
        heard = {}
        for pitch in (55, 62, 67):
            request = AudioRequest(model_id, pitch=pitch, mix={instrument: 1.0}, seconds=0.75)
            audio = run_to_completion(runtime.audio_job(request)).audio
            f0 = harmonic_f0(audio[4000:12000])
            assert f0 is not None and abs(cents(f0, pitch)) < 50, (instrument, pitch, f0)
            heard[pitch] = f0
        assert heard[55] < heard[62] < heard[67]

"""Encoding pictures into latent spaces (VAE, flow) on tiny real models: any picture mode,
exact flow round trips, likelihood read-outs, CLI encode/score, and the GUI's drop."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cli import main
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.core.requests import ImageRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime, encode_job
from studio.families.encoding import psnr, typicality
from studio.media.image import read_image


@pytest.fixture
def runtime(
    tmp_path: Path, tiny_vae_folder: Path, tiny_flow_folder: Path, tiny_gan_folder: Path
) -> ModelRuntime:
    for folder in (tiny_vae_folder, tiny_flow_folder, tiny_gan_folder):
        shutil.copytree(folder, tmp_path / "models" / folder.name)
    return ModelRuntime(Catalog([(tmp_path / "models", "user")]))


def picture(seed: int = 0, size: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_flow_round_trip_is_exact(runtime: ModelRuntime) -> None:
    encoded = run_to_completion(encode_job(runtime, "tiny-flow", picture()))
    assert encoded.likelihood == "exact" and encoded.psnr >= 40
    request = ImageRequest("tiny-flow", latent=tuple(encoded.latent.tolist()))
    decoded = run_to_completion(runtime.image_job(request)).pixels
    assert psnr(decoded, picture()) >= 40
    np.testing.assert_array_equal(decoded, encoded.reconstruction)


def test_vae_encodes_to_its_posterior_mean_with_an_elbo(runtime: ModelRuntime) -> None:
    encoded = run_to_completion(encode_job(runtime, "tiny-vae", picture()))
    assert encoded.latent.shape == (8,) and encoded.likelihood == "ELBO bound"
    assert math.isfinite(encoded.bits_per_dim) and encoded.bits_per_dim > 0
    again = run_to_completion(encode_job(runtime, "tiny-vae", picture()))
    np.testing.assert_array_equal(encoded.latent, again.latent)


def test_a_gan_cannot_encode(runtime: ModelRuntime) -> None:
    with pytest.raises(RequestError, match="cannot encode"):
        run_to_completion(encode_job(runtime, "tiny-gan", picture()))


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "I;16", "CMYK", "1"])
def test_any_picture_mode_encodes(runtime: ModelRuntime, tmp_path: Path, mode: str) -> None:
    rgb = Image.fromarray(picture(1, 40)[:, :30])  # not square, not the model's size
    image = rgb.convert(mode)
    path = tmp_path / f"in.{'tiff' if mode in ('I;16', 'CMYK') else 'png'}"
    image.save(path)
    pixels, _ = read_image(path)
    assert pixels.shape == (40, 30, 3) and pixels.dtype == np.uint8
    encoded = run_to_completion(encode_job(runtime, "tiny-flow", pixels))
    assert encoded.model_input.shape == (8, 8, 3)


def test_transparent_parts_become_white(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    assert (read_image(tmp_path / "clear.png")[0] == 255).all()


def test_typicality_against_held_out_percentiles() -> None:
    assert typicality(9.5, [7.0, 8.0, 9.0]).startswith("atypical")
    assert typicality(6.0, [7.0, 8.0, 9.0]).startswith("unusually simple")
    assert typicality(8.2, [7.0, 8.0, 9.0]).startswith("typical")
    assert typicality(8.2, None) is None


def test_cli_encode_then_generate_from_the_latent(
    runtime: ModelRuntime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(tmp_path / "models"))
    Image.fromarray(picture(2)).save(tmp_path / "mine.png")
    assert (
        main(
            [
                "encode",
                "--model",
                "tiny-flow",
                str(tmp_path / "mine.png"),
                "--out",
                str(tmp_path / "z.npy"),
            ]
        )
        == 0
    )
    assert "bits/dim (exact)" in capsys.readouterr().out
    assert (
        main(
            [
                "generate",
                "--model",
                "tiny-flow",
                "--latent",
                str(tmp_path / "z.npy"),
                "--out",
                str(tmp_path / "back.png"),
            ]
        )
        == 0
    )
    back, provenance = read_image(tmp_path / "back.png")
    assert psnr(back, picture(2)) >= 40
    assert provenance is not None and provenance.request.latent is not None
    # the exported file reproduces itself, latent included
    assert (
        main(
            ["generate", "--from", str(tmp_path / "back.png"), "--out", str(tmp_path / "again.png")]
        )
        == 0
    )
    np.testing.assert_array_equal(read_image(tmp_path / "again.png")[0], back)
    # a latent for another model is refused with the sizes named
    assert (
        main(
            [
                "generate",
                "--model",
                "tiny-vae",
                "--latent",
                str(tmp_path / "z.npy"),
                "--out",
                str(tmp_path / "bad.png"),
            ]
        )
        == 2
    )
    assert "takes 8" in capsys.readouterr().err


def test_cli_score_ranks_a_folder(
    runtime: ModelRuntime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(tmp_path / "models"))
    folder = tmp_path / "pics"
    folder.mkdir()
    Image.fromarray(picture(3)).save(folder / "noise.png")
    Image.fromarray(np.full((8, 8, 3), 255, np.uint8)).save(folder / "white.png")
    (folder / "broken.png").write_bytes(b"nope")
    assert main(["score", "--model", "tiny-flow", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "bits/dim" in lines[0]
    assert {line.split()[2] for line in lines[1:3]} == {"noise.png", "white.png"}
    assert "broken.png" in lines[3] and "unreadable" in lines[3]


def test_huge_picture_is_refused_clearly(tmp_path: Path) -> None:
    Image.new("L", (9000, 8000)).save(tmp_path / "huge.png")
    with pytest.raises(MediaError, match="megapixels"):
        read_image(tmp_path / "huge.png")

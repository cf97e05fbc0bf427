"""Image files: provenance in and out for every format, atomic writes, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.errors import MediaError
from studio.core.provenance import Provenance
from studio.core.requests import ImageRequest
from studio.media.image import read_image, upscale, write_image

PROVENANCE = Provenance(
    request=ImageRequest("gan-emoji-32", seed=42, offsets=(("PC1", 1.5),), grid=(2, 2)),
    model_sha256="ab" * 32,
    family="gan",
    backend="onnx",
    provider="CPUExecutionProvider",
    app_version="0.1.0",
    latent=(0.25, -1.0),
    upscale=2,
)


def pixels() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".webp", ".jpg"])
def test_provenance_round_trips_in_every_format(tmp_path: Path, suffix: str) -> None:
    path = write_image(tmp_path / f"out{suffix}", pixels(), PROVENANCE)
    read_pixels, provenance = read_image(path)
    assert provenance == PROVENANCE
    assert read_pixels.shape == (16, 24, 3)
    if suffix == ".png":
        np.testing.assert_array_equal(read_pixels, pixels())  # lossless


def test_never_overwrites_silently(tmp_path: Path) -> None:
    path = write_image(tmp_path / "a.png", pixels(), PROVENANCE)
    before = path.read_bytes()
    with pytest.raises(MediaError, match="already exists"):
        write_image(path, np.zeros((4, 4, 3), np.uint8))
    assert path.read_bytes() == before
    write_image(path, np.zeros((4, 4, 3), np.uint8), overwrite=True)
    assert read_image(path)[0].shape == (4, 4, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary files left


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="does not exist"):
        write_image(tmp_path / "missing" / "a.png", pixels())


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="unsupported image type"):
        write_image(tmp_path / "a.bmp", pixels())


def test_truncated_and_non_images_are_clear_errors(tmp_path: Path) -> None:
    good = write_image(tmp_path / "good.png", pixels(), PROVENANCE).read_bytes()
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(MediaError, match="damaged or truncated"):
        read_image(tmp_path / "cut.png")
    with pytest.raises(MediaError, match="not an image"):
        read_image(tmp_path / "text.png")
    with pytest.raises(MediaError, match="no such file"):
        read_image(tmp_path / "absent.png")


def test_image_without_provenance_reads_as_none(tmp_path: Path) -> None:
    path = write_image(tmp_path / "plain.png", pixels())
    assert read_image(path)[1] is None


def test_upscale_nearest_repeats_pixels() -> None:
    big = upscale(pixels(), 3)
    assert big.shape == (48, 72, 3)
    np.testing.assert_array_equal(big[::3, ::3], pixels())
    assert upscale(pixels(), 2, smooth=True).shape == (32, 48, 3)


@pytest.mark.parametrize("side", [8_500, 20_000])  # over our limit; over Pillow's too
def test_huge_image_is_refused_before_decoding(tmp_path: Path, side: int) -> None:
    import struct
    import zlib

    # A PNG header claiming side x side pixels, with almost no pixel data behind it.
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
    data += struct.pack(">I", zlib.crc32(chunk))
    idat = b"IDAT" + zlib.compress(b"\x00" * 64)
    data += struct.pack(">I", len(idat) - 4) + idat + struct.pack(">I", zlib.crc32(idat))
    (tmp_path / "huge.png").write_bytes(data)
    with pytest.raises(MediaError, match="larger than"):
        read_image(tmp_path / "huge.png")


def test_network_output_with_nan_and_inf_still_converts() -> None:
    from studio.families.pixels import to_uint8

    raw = np.array([[[[np.nan, np.inf], [-np.inf, 0.0]]]], np.float32)  # (1, 1, 2, 2)
    out = to_uint8(raw, (-1.0, 1.0))
    assert out.shape == (1, 2, 2, 3)
    assert out[0, :, :, 0].tolist() == [[0, 255], [0, 128]]

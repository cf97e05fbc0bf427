"""The CLI on files whose stored settings it cannot use: a damaged or hand-edited provenance,
and a picture made by another verb. Each is one `studio: error:` line that says what the file
holds, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from studio.cli import main
from studio.core.provenance import PROVENANCE_KEY, Provenance
from studio.core.style_request import StyleRequest
from studio.media.image import write_image

SETTINGS = {"model_sha256": "ab", "family": "gan", "backend": "onnx", "provider": "cpu"}


def png_with_settings(path: Path, text: str) -> Path:
    """A picture whose iTXt chunk holds `text` as its settings, as an editor could leave it."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(PROVENANCE_KEY, text)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path, pnginfo=info)
    return path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("studio: error:") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({**SETTINGS, "request": []}, "request must be a JSON object"),
        ({**SETTINGS, "request": "gan-emoji-32"}, "request must be a JSON object"),
        ({**SETTINGS, "request": {"model_id": "m", "seed": 1.5}}, "seed must be an integer"),
        ({**SETTINGS, "request": {"model_id": "m"}, "upscale": "2"}, "upscale"),
        ([], "provenance is not a JSON object"),
    ],
)
@pytest.mark.parametrize("verb", ["info", "generate"])
def test_unusable_stored_settings_are_one_error_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    settings: object,
    words: str,
    verb: str,
) -> None:
    source = png_with_settings(tmp_path / "edited.png", json.dumps(settings))
    args = [verb, str(source)] if verb == "info" else [verb, "--from", str(source)]
    if verb == "generate":
        args += ["--out", str(tmp_path / "out.png")]
    assert main(args) == 2
    assert words in one_error_line(capsys)
    assert not (tmp_path / "out.png").exists()


def test_generate_from_a_stylize_export_says_to_use_stylize(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = StyleRequest("photo.png", "a" * 64, "painting.png", "b" * 64, method="fast")
    provenance = Provenance(request, "c" * 64, "adain", "onnx", "cpu", "0.1.0")
    source = tmp_path / "styled.png"
    write_image(source, np.zeros((8, 8, 3), np.uint8), provenance)
    assert main(["generate", "--from", str(source), "--out", str(tmp_path / "out.png")]) == 2
    err = one_error_line(capsys)
    assert "style transfer settings" in err and "studio stylize" in err
    assert "text" not in err  # the old message called every non-picture export text
    assert main(["info", str(source)]) == 0  # ... and info lists what stylize needs
    listed = capsys.readouterr().out
    assert "photo.png" in listed and "painting.png" in listed

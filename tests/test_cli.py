"""CLI: generate -> info -> regenerate from the file gives identical pixels; clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from studio.cli import main
from studio.media.image import read_image

REPO = Path(__file__).resolve().parents[1]


def test_round_trip_reproduces_identical_pixels(
    user_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    assert (
        main(
            [
                "generate",
                "--model",
                "tiny-gan",
                "--seed",
                "5",
                "--grid",
                "2x3",
                "--direction",
                "PC1=1.5",
                "--upscale",
                "2",
                "--out",
                str(first),
            ]
        )
        == 0
    )
    assert main(["info", str(first)]) == 0
    info = capsys.readouterr().out
    assert "tiny-gan" in info and "PC1" in info and "CPUExecutionProvider" in info
    assert main(["generate", "--from", str(first), "--out", str(second)]) == 0
    pixels_a, prov_a = read_image(first)
    pixels_b, prov_b = read_image(second)
    assert pixels_a.shape == (2 * 8 * 2, 3 * 8 * 2, 3)  # 2x3 grid of 8 px cells, upscaled 2x
    np.testing.assert_array_equal(pixels_a, pixels_b)
    assert prov_a == prov_b


def test_same_command_twice_gives_identical_files(user_models: Path, tmp_path: Path) -> None:
    args = ["generate", "--model", "tiny-gan", "--seed", "9", "--grid", "4x4"]
    main([*args, "--out", str(tmp_path / "1.png")])
    main([*args, "--out", str(tmp_path / "2.png")])
    assert (tmp_path / "1.png").read_bytes() == (tmp_path / "2.png").read_bytes()


def test_models_lists_user_models(user_models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny-gan" in out and "onnx,torch" in out and "user" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "--model", "nope", "--out", "{tmp}/x.png"], "no model 'nope'"),
        (
            ["generate", "--model", "tiny-gan", "--direction", "PC99=1", "--out", "{tmp}/x.png"],
            "no direction 'PC99'",
        ),
        (["generate", "--model", "tiny-gan", "--out", "{tmp}/missing/x.png"], "does not exist"),
        (["generate", "--model", "tiny-gan", "--out", "{tmp}/x.gif"], "unsupported image type"),
        (["generate", "--model", "tiny-gan", "--seed", "-3", "--out", "{tmp}/x.png"], "seed"),
        (["generate", "--from", "{tmp}/absent.png", "--out", "{tmp}/x.png"], "no such file"),
    ],
)
def test_errors_are_one_line_with_nonzero_exit(
    user_models: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    assert main([a.replace("{tmp}", str(tmp_path)) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("studio: error:") and message in err
    assert err.count("\n") == 1


def test_existing_file_is_not_overwritten(
    user_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.png"
    out.write_bytes(b"precious")
    assert main(["generate", "--model", "tiny-gan", "--out", str(out)]) == 2
    assert out.read_bytes() == b"precious"
    assert "already exists" in capsys.readouterr().err


def test_bad_grid_argument_exits_nonzero(user_models: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "studio",
            "generate",
            "--model",
            "tiny-gan",
            "--grid",
            "four",
            "--out",
            str(tmp_path / "x.png"),
        ],
        capture_output=True,
        text=True,
        check=False,
        # the tree under test, not whatever copy of studio is installed
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 2
    assert "grid must look like 4x4" in result.stderr


def test_sampler_settings_reach_the_request(
    tmp_path: Path, tiny_ddpm_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    shutil.copytree(tiny_ddpm_folder, tmp_path / "models" / "tiny-ddpm")
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(tmp_path / "models"))
    out = tmp_path / "d.png"
    assert (
        main(
            [
                "generate",
                "--model",
                "tiny-ddpm",
                "--sampler",
                "ddim",
                "--steps",
                "3",
                "--eta",
                "0.5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    request = read_image(out)[1].request
    assert (request.sampler, request.steps, request.eta) == ("ddim", 3, 0.5)

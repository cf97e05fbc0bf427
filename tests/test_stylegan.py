"""The StyleGAN family on a tiny real model: style space (truncation, mixing, noise,
directions in w), categories, transparent export, both backends, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.catalog import Catalog
from studio.core.errors import RequestError
from studio.core.requests import ImageRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.media.image import read_provenance, write_image

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runtime(tiny_stylegan_folder: Path) -> ModelRuntime:
    return ModelRuntime(Catalog([(tiny_stylegan_folder.parent, "user")]))


def draw(runtime: ModelRuntime, **settings) -> np.ndarray:
    request = ImageRequest("tiny-stylegan", **settings)
    return run_to_completion(runtime.image_job(request)).pixels


def test_it_draws_rgba_sprites_and_both_backends_agree(runtime) -> None:
    onnx = draw(runtime, seed=4, grid=(2, 2), backend="onnx")
    torch = draw(runtime, seed=4, grid=(2, 2), backend="torch")
    assert onnx.shape == (16, 16, 4) and onnx.dtype == np.uint8
    # float32 graphs in two runtimes: one 8-bit level of rounding at most
    assert np.abs(onnx.astype(int) - torch.astype(int)).max() <= 1
    # grid cell k is seed + k, drawn on its own
    assert np.array_equal(onnx[:8, 8:], draw(runtime, seed=5, backend="onnx"))


def test_mixing_every_layer_from_b_gives_b(runtime) -> None:
    b = draw(runtime, seed=9)
    mixed = draw(runtime, seed=2, mix_seed=9, mix_layers=(0, 1, 2, 3))
    assert np.array_equal(mixed, b)
    coarse = draw(runtime, seed=2, mix_seed=9, mix_layers=(0,))
    assert not np.array_equal(coarse, b) and not np.array_equal(coarse, draw(runtime, seed=2))


def test_psi_zero_is_the_average_sprite_of_the_category(runtime) -> None:
    pictures = [draw(runtime, seed=s, psi=0.0, category="monster") for s in (0, 1, 7)]
    assert all(np.array_equal(p, pictures[0]) for p in pictures)
    items = draw(runtime, seed=0, psi=0.0, category="item")
    assert not np.array_equal(items, pictures[0])  # each category has its own average
    untouched = draw(runtime, seed=3, category="monster")
    assert np.array_equal(draw(runtime, seed=3, category="monster", psi=1.0), untouched)
    assert not np.array_equal(draw(runtime, seed=3, category="monster", psi=0.5), untouched)
    # a cutoff of 0 truncates no layer at all
    assert np.array_equal(
        draw(runtime, seed=3, category="monster", psi=0.0, truncation_cutoff=0), untouched
    )


def test_noise_is_fixed_scaled_or_redrawn(runtime) -> None:
    base = draw(runtime, seed=1)
    assert not np.array_equal(draw(runtime, seed=1, noise=0.0), base)
    redrawn = draw(runtime, seed=1, fixed_noise=False)
    assert not np.array_equal(redrawn, base)
    assert np.array_equal(draw(runtime, seed=1, fixed_noise=False), redrawn)


def test_directions_move_w(runtime) -> None:
    info = runtime.describe("tiny-stylegan")
    assert info.direction_names and info.descriptor.name == "stylegan"
    name = info.direction_names[0]
    moved = draw(runtime, seed=1, offsets=((name, 3.0),))
    assert not np.array_equal(moved, draw(runtime, seed=1))


def test_bad_style_requests_say_why(runtime) -> None:
    with pytest.raises(RequestError, match=r"no category 'dragons'.*item, monster, terrain"):
        draw(runtime, category="dragons")
    with pytest.raises(RequestError, match="mix_layers go up to 3"):
        draw(runtime, mix_seed=1, mix_layers=(7,))
    with pytest.raises(RequestError, match="psi must be in"):
        ImageRequest("tiny-stylegan", psi=2.5)
    with pytest.raises(RequestError, match="mix_layers must be"):
        ImageRequest("tiny-stylegan", mix_layers=(99,))


def test_style_settings_round_trip_through_provenance() -> None:
    request = ImageRequest(
        "m", seed=3, category="item", psi=0.4, truncation_cutoff=2, mix_seed=8,
        mix_layers=(2, 0), noise=0.5, fixed_noise=False,
    )  # fmt: skip
    again = ImageRequest.from_dict(request.to_dict())
    assert again == request and again.mix_layers == (0, 2)


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_alpha_survives_export_and_reopen(runtime, tmp_path: Path, suffix: str) -> None:
    result = run_to_completion(runtime.image_job(ImageRequest("tiny-stylegan", seed=2)))
    path = write_image(tmp_path / f"sprite{suffix}", result.pixels, result.provenance)
    with Image.open(path) as image:
        assert image.mode == "RGBA"
        assert np.array_equal(np.asarray(image), result.pixels)  # lossless, alpha included
    assert read_provenance(path).request == result.request
    jpeg = write_image(tmp_path / "sprite.jpg", result.pixels, result.provenance)
    with Image.open(jpeg) as image:
        assert image.mode == "RGB"  # laid on white: JPEG has no alpha


def test_the_cli_takes_style_space_options(tiny_stylegan_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "mixed.png"
    env = {"LATENT_STUDIO_MODELS": str(tiny_stylegan_folder.parent), "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "studio", "generate", "--model", "tiny-stylegan", "--seed", "2",
        "--category", "terrain", "--psi", "0.7", "--cutoff", "2", "--mix-seed", "9",
        "--mix-layers", "coarse", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    request = read_provenance(out).request
    assert request.category == "terrain" and request.psi == 0.7
    assert request.mix_seed == 9 and request.mix_layers == (0, 1, 2, 3)  # 8 px model: all coarse
    bad = subprocess.run(
        [*command[:8], "--category", "dragons", "--out", str(tmp_path / "x.png")],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode != 0 and "no category 'dragons'" in bad.stderr


def test_image_panel_offers_the_style_space(qtbot, open_window, tiny_stylegan_folder) -> None:
    window = open_window(tiny_stylegan_folder)
    panel = window.image_panel
    box = panel.style_box
    assert box.isVisible() and box.category.count() == 3 and len(box.layers) == 4
    assert panel.sampler_box.spins["psi"].value() == 1.0
    assert panel.sampler_box.spins["truncation_cutoff"].value() == 4  # all layers
    assert not panel.truncate.isEnabled()  # z-truncation is not this family's
    with qtbot.waitSignal(panel.rendered, timeout=10_000):
        box.category.setCurrentIndex(box.category.findData("monster"))
    assert panel.state.category == "monster"
    box.mix_seed.setValue(9)
    with qtbot.waitSignal(panel.rendered, timeout=10_000):
        box.choose_layers((0, 1))
    assert panel.state.mix_seed == 9 and panel.state.mix_layers == (0, 1)
    with qtbot.waitSignal(panel.rendered, timeout=10_000):
        panel.sampler_box.spins["psi"].setValue(0.0)
    assert panel.state.psi == 0.0
    assert panel.result.pixels.shape[-1] == 4 and panel.canvas.image().hasAlphaChannel()
    panel.undo.undo()  # psi back to 1
    assert panel.state.psi == 1.0 and panel.sampler_box.spins["psi"].value() == 1.0


def test_a_sprite_sheet_names_every_cell_and_each_redraws_alone(
    tiny_stylegan_folder: Path, tmp_path: Path
) -> None:
    env = {"LATENT_STUDIO_MODELS": str(tiny_stylegan_folder.parent), "PYTHONPATH": str(ROOT)}
    studio = [sys.executable, "-m", "studio", "generate"]
    sheet = tmp_path / "sheet.png"
    args = ["--model", "tiny-stylegan", "--seed", "5", "--grid", "2x3", "--category", "item"]
    made = subprocess.run(
        [*studio, *args, "--upscale", "2", "--sheet", "--out", str(sheet)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    lines = (tmp_path / "sheet.tsv").read_text().splitlines()
    assert lines[0].split("\t")[:6] == ["index", "row", "column", "x", "y", "seed"]
    assert len(lines) == 7
    index, row, col, x, y, seed, category, settings = lines[5].split("\t")
    assert (index, row, col, x, y, seed, category) == ("4", "1", "1", "16", "16", "9", "item")
    assert ImageRequest.from_dict(json.loads(settings)).grid == (1, 1)
    cell = tmp_path / "cell.png"
    again = subprocess.run(
        [*studio, "--from", str(sheet), "--cell", "4", "--out", str(cell)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    whole, alone = np.asarray(Image.open(sheet)), np.asarray(Image.open(cell))
    assert whole.shape == (32, 48, 4) and alone.shape == (16, 16, 4)  # the sheet's upscale kept
    assert np.array_equal(whole[16:32, 16:32], alone)


def test_the_panel_exports_a_transparent_sprite_sheet(
    qtbot, open_window, tiny_stylegan_folder, tmp_path: Path
) -> None:
    window = open_window(tiny_stylegan_folder)
    panel = window.image_panel
    with qtbot.waitSignal(panel.rendered, timeout=10_000):
        panel.grid_button.setChecked(True)
    panel.export_scale.setValue(4)
    png, tsv = panel.export_sheet(tmp_path / "sprites.png")
    with Image.open(png) as image:
        assert image.mode == "RGBA" and image.size == (4 * 4 * 8, 4 * 4 * 8)
    assert len(tsv.read_text().splitlines()) == 1 + 16

"""The sprite StyleGAN: shapes, style mixing, ONNX parity, and the sprite loader's checks."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.nets.stylegan import (
    Discriminator,
    Mapping,
    StyleGANConfig,
    Synthesis,
    random_noise,
)
from studio.training import sprites_data
from studio.training.export import export_network
from studio.training.stylegan_sprites import Generator

TINY = StyleGANConfig(z_dim=8, w_dim=16, mapping_layers=2, resolution=16, widths=(16, 8, 8))


def _inputs(config: StyleGANConfig, batch: int, seed: int = 0):
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, config.z_dim, generator=rng)
    category = torch.arange(batch) % config.num_categories
    return z, category, random_noise(config, batch, rng)


def test_shapes_and_layer_tables() -> None:
    c = TINY
    assert c.num_ws == 6 and c.num_noise == 5
    assert c.ws_resolutions == (4, 8, 8, 16, 16, 16)
    assert c.noise_resolutions == (4, 8, 8, 16, 16)
    z, category, noise = _inputs(c, 3)
    w = Mapping(c)(z, category)
    assert w.shape == (3, c.w_dim)
    ws = w[:, None].repeat(1, c.num_ws, 1)
    rgba = Synthesis(c)(ws, noise)
    assert rgba.shape == (3, 4, 16, 16) and rgba.dtype == torch.float32
    logits = Discriminator(c)(rgba, category)
    assert logits.shape == (3,)


def test_w_avg_moves_only_in_training() -> None:
    mapping = Mapping(TINY)
    z, category, _ = _inputs(TINY, 4)
    mapping.eval()(z, category)
    assert torch.count_nonzero(mapping.w_avg) == 0
    mapping.train()(z, category)
    assert torch.count_nonzero(mapping.w_avg) > 0


def test_mixing_every_layer_from_b_gives_b() -> None:
    torch.manual_seed(0)
    g = Generator(TINY).eval()
    z_a, category, noise = _inputs(TINY, 2, seed=1)
    z_b = torch.randn(z_a.shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        mixed = g(z_a, category, noise, mix_z=z_b, mix_from=0)
        only_b = g(z_b, category, noise)
        partly = g(z_a, category, noise, mix_z=z_b, mix_from=3)
    torch.testing.assert_close(mixed, only_b)
    assert not torch.allclose(partly, only_b)


def test_noise_input_is_linear_in_its_scale() -> None:
    """Zero noise switches it off; the app scales noise by scaling the input."""
    torch.manual_seed(0)
    g = Generator(TINY).eval()
    for layer in g.synthesis.layers:
        layer.noise_strength.data.fill_(0.5)
    z, category, noise = _inputs(TINY, 2)
    with torch.no_grad():
        ws = g.mapping(z, category)[:, None].repeat(1, TINY.num_ws, 1)
        quiet = g.synthesis(ws, torch.zeros_like(noise))
        loud = g.synthesis(ws, noise)
    assert not torch.allclose(quiet, loud)


def test_onnx_parity_with_dynamic_batch(tmp_path: Path) -> None:
    import onnxruntime as ort

    torch.manual_seed(0)
    g = Generator(TINY).eval()
    z, category, noise = _inputs(TINY, 2)
    assert (
        export_network(g.mapping, {"z": z, "category": category}, tmp_path, "mapping", "w") < 1e-4
    )
    ws = torch.randn(2, TINY.num_ws, TINY.w_dim)
    assert (
        export_network(g.synthesis, {"ws": ws, "noise": noise}, tmp_path, "synthesis", "rgba")
        < 1e-4
    )
    # another batch size through the same graphs
    z5, category5, noise5 = _inputs(TINY, 5, seed=3)
    mapping = ort.InferenceSession(str(tmp_path / "mapping.onnx"))
    synthesis = ort.InferenceSession(str(tmp_path / "synthesis.onnx"))
    w = mapping.run(None, {"z": z5.numpy(), "category": category5.numpy()})[0]
    ws5 = np.repeat(w[:, None], TINY.num_ws, axis=1)
    rgba = synthesis.run(None, {"ws": ws5, "noise": noise5.numpy()})[0]
    with torch.no_grad():
        expected = g(z5, category5, noise5).numpy()
    assert rgba.shape == (5, 4, 16, 16)
    np.testing.assert_allclose(rgba, expected, atol=1e-4)


# ---------------------------------------------------------------------------- sprite data


def _fake_release(folder: Path) -> Path:
    """Five 64x32 sheets, each holding one 20x20 opaque square, and a table describing them."""
    header = ["# sheet\tindex\tpath\tenum\twidth\theight\tox\toy\tsx\tsy\tex\tey"]
    rows = []
    paths = {"main": "item/potion/red.png", "player": "mon/animals/rat.png"}
    for i, name in enumerate(("main", "player", "feat", "floor", "wall")):
        pixels = np.zeros((32, 64, 4), np.uint8)
        pixels[0:20, 0:20] = (40 * i, 100, 200, 255)
        Image.fromarray(pixels).save(folder / f"{name}.png")
        digest = hashlib.sha256(pixels.tobytes()).hexdigest()
        header.append(f"# sheet {name} 64x32 sha256 {digest}")
        path = paths.get(name, f"dngn/{name}/stone{i}.png")
        rows.append(f"{name}\t0\t{path}\tTILE_{i}\t32\t32\t6\t6\t0\t0\t20\t20")
    table = folder / "layout.tsv.gz"
    with gzip.open(table, "wt", encoding="utf-8") as f:
        f.write("\n".join(header + rows) + "\n")
    return table


def test_fake_release_is_cut_and_labelled(tmp_path: Path) -> None:
    table = _fake_release(tmp_path)
    sprites = sprites_data.build(tmp_path, table, also_accept={})
    assert sprites.images.shape == (5, 32, 32, 4) and sprites.images.dtype == np.uint8
    assert [sprites_data.CATEGORIES[c] for c in sprites.categories] == [
        "item", "monster", "terrain", "terrain", "terrain",
    ]  # fmt: skip
    assert (sprites.images[:, 6:26, 6:26, 3] == 255).all()  # pasted at (ox, oy)
    assert sprites.images[:, :6, :, 3].max() == 0


def test_doctored_sheet_is_refused_by_name(tmp_path: Path) -> None:
    table = _fake_release(tmp_path)
    sheet = tmp_path / "floor.png"
    pixels = np.asarray(Image.open(sheet)).copy()
    pixels[31, 63] = (1, 2, 3, 4)  # one pixel of another release
    Image.fromarray(pixels).save(sheet)
    with pytest.raises(sprites_data.SpriteDataError, match=r"floor\.png"):
        sprites_data.build(tmp_path, table, also_accept={})


def test_recolours_share_a_group() -> None:
    assert sprites_data.group_key("dngn/wall/brick_brown3.png") == "dngn/wall/brick_brown"
    assert sprites_data.group_key("mon/undead/zombie_12.png") == "mon/undead/zombie"
    assert sprites_data.group_key("item/potion/red.png") == "item/potion/red"

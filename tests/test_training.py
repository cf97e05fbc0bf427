"""Training code: a few real steps on tiny synthetic data, the data builder, directions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from studio.latent.directions import Directions, principal_directions
from studio.nets.dcgan import DCGANConfig
from studio.training.augment import diff_augment
from studio.training.emoji_data import FONT_PATH, _render, _to_square
from studio.training.gan_emoji import GANSettings, GANTraining
from studio.training.loop import EMA, LoopSettings, Run, train

TINY = DCGANConfig(latent_dim=8, image_size=8, base_channels=4)


def test_a_few_training_steps_move_the_generator_and_stay_finite(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (32, 8, 8, 3), dtype=np.uint8)
    settings = GANSettings(batch_size=8, ema_decay=0.5)
    loop = LoopSettings("gan", preview_every=2, ema=EMA(("generator",), settings.ema_decay))
    outcome = train(
        lambda rngs: GANTraining(images, TINY, settings, rngs, tmp_path),
        Run(tmp_path, minutes=5.0, max_steps=5),
        loop,
    )
    assert outcome.steps == 5 and outcome.examples == 40
    assert (tmp_path / "samples.png").is_file()  # the preview
    assert set(outcome.losses) == {"d_loss", "g_loss"}
    generator = outcome.averages["generator"]
    out = generator(torch.randn(4, 8)).detach()
    assert out.shape == (4, 3, 8, 8) and torch.isfinite(out).all()
    assert out.abs().max() <= 1.0
    untrained = type(generator)(TINY)
    assert not torch.equal(generator.body[0].weight, untrained.body[0].weight)


def test_diff_augment_changes_every_picture_reproducibly_and_keeps_gradients() -> None:
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    x.requires_grad_(True)
    out = diff_augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.equal(out, diff_augment(x, torch.Generator().manual_seed(0)))  # seeded
    assert not torch.equal(out, diff_augment(x, torch.Generator().manual_seed(1)))
    # never the identity: every picture is changed by far more than float rounding
    assert ((out - x).flatten(1).abs().amax(1) > 0.1).all()
    # the cutout zeroes a half-side square (64 pixels) in every picture; a 2-pixel shift
    # alone leaves at most 60 pixels zero
    assert ((out == 0).all(1).flatten(1).sum(1) >= 64).all()
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.skipif(not FONT_PATH.exists(), reason="fonts-noto-color-emoji not installed")
def test_emoji_glyph_renders_on_white() -> None:
    from PIL import ImageFont

    font = ImageFont.truetype(str(FONT_PATH), 109)
    glyph = _render(font, "\U0001f600")  # grinning face
    assert glyph is not None
    square = _to_square(glyph, 32)
    assert square.shape == (32, 32, 3) and square.dtype == np.uint8
    assert (square[0, 0] == 255).all()  # white ground in the corner
    assert square[16, 16].mean() < 250  # the face in the middle


def test_principal_directions_recover_the_strongest_axis(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((4000, 6)).astype(np.float32)
    # Features vary 10x more along latent axis 2 than along axis 4; others barely.
    mixing = np.diag([0.1, 0.1, 10.0, 0.1, 1.0, 0.1])
    rotation, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    features = latents @ mixing @ rotation
    directions = principal_directions(latents, features, 2)
    assert abs(directions.vectors[0][2]) > 0.99
    assert abs(directions.vectors[1][4]) > 0.99
    assert directions.explained_variance[0] > directions.explained_variance[1]
    np.testing.assert_allclose(np.linalg.norm(directions.vectors, axis=1), 1.0, rtol=1e-5)
    directions.save(tmp_path / "d.npz")
    loaded = Directions.load(tmp_path / "d.npz", latent_dim=6)
    assert loaded.names == ("PC1", "PC2")
    np.testing.assert_array_equal(loaded.vectors, directions.vectors)

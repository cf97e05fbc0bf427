"""PixelCNN (causal masks, pixel-by-pixel sampling, completion) and RBM (Gibbs chains,
clamping, free energy) on tiny real models."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from studio.core.catalog import Catalog
from studio.core.requests import ImageRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime, encode_job
from studio.nets.pixelcnn import PixelCNN, PixelCNNConfig


def test_pixelcnn_masks_are_causal() -> None:
    """Changing pixel (i, j) never changes the logits of (i', j') at or before it in raster
    order, and does reach pixels after it."""
    torch.manual_seed(0)
    model = PixelCNN(PixelCNNConfig(image_size=6, palette_size=3, channels=8, layers=3, kernel=3))
    for parameter in model.parameters():
        parameter.data.normal_(0, 0.3)
    model.eval()
    indices = torch.randint(0, 3, (1, 6, 6))

    def logits(idx: torch.Tensor) -> torch.Tensor:
        onehot = torch.nn.functional.one_hot(idx, 3).permute(0, 3, 1, 2).float()
        return model(onehot)[0]

    base = logits(indices)
    reached = 0
    for i in range(6):
        for j in range(6):
            changed = indices.clone()
            changed[0, i, j] = (changed[0, i, j] + 1) % 3
            moved = (logits(changed) - base).abs().sum(0) > 1e-6  # (6, 6)
            order = np.arange(36).reshape(6, 6)
            assert not moved[torch.from_numpy(order <= i * 6 + j)].any(), (i, j)
            reached += int(moved.sum())
    assert reached > 0


@pytest.fixture
def runtime(tmp_path: Path, tiny_pixelcnn_folder: Path, tiny_rbm_folder: Path) -> ModelRuntime:
    for folder in (tiny_pixelcnn_folder, tiny_rbm_folder):
        shutil.copytree(folder, tmp_path / "models" / folder.name)
    return ModelRuntime(Catalog([(tmp_path / "models", "user")]))


def test_pixelcnn_samples_are_deterministic_and_preview_row_by_row(runtime: ModelRuntime) -> None:
    progress: list[Any] = []
    request = ImageRequest("tiny-pixelcnn", seed=3, grid=(1, 2))
    first = run_to_completion(runtime.image_job(request), progress.append)
    again = run_to_completion(runtime.image_job(request))
    np.testing.assert_array_equal(first.pixels, again.pixels)
    assert first.pixels.shape == (8, 16, 3)
    assert [p.step for p in progress if p.step is not None] == list(range(1, 9))
    palette = {(255, 255, 255), (0, 0, 0), (255, 0, 0), (0, 0, 255)}
    assert {tuple(c) for c in first.pixels.reshape(-1, 3)} <= palette
    # cell 2 of a grid from seed 3 is the single picture of seed 4
    single = run_to_completion(runtime.image_job(ImageRequest("tiny-pixelcnn", seed=4)))
    np.testing.assert_array_equal(first.pixels[:, 8:], single.pixels)


def test_pixelcnn_completes_the_erased_half(runtime: ModelRuntime) -> None:
    picture = np.zeros((8, 8, 3), np.uint8)
    picture[:, :, 0] = 255  # red everywhere
    prepared = run_to_completion(encode_job(runtime, "tiny-pixelcnn", picture))
    known = prepared.latent.reshape(8, 8)
    assert (known[:4] == 2).all() and (known[4:] == -1).all()  # red kept, lower half erased
    assert prepared.bits_per_dim is not None and prepared.bits_per_dim > 0
    request = ImageRequest("tiny-pixelcnn", seed=1, latent=tuple(prepared.latent.tolist()))
    done = run_to_completion(runtime.image_job(request)).pixels
    assert (done[:4] == [255, 0, 0]).all()  # the kept half is untouched


def test_rbm_chain_keeps_clamped_units_and_is_deterministic(runtime: ModelRuntime) -> None:
    clamp = np.full(64, -1.0)
    clamp[:32] = 1.0  # upper half all ink
    request = ImageRequest("tiny-rbm", seed=2, steps=20, latent=tuple(clamp.tolist()))
    progress: list[Any] = []
    first = run_to_completion(runtime.image_job(request), progress.append)
    again = run_to_completion(runtime.image_job(request))
    np.testing.assert_array_equal(first.pixels, again.pixels)
    assert (first.pixels[:4] == 255).all()
    assert [p.step for p in progress if p.step is not None] == [5, 10, 15, 20]


def test_rbm_encode_binarises_and_scores(runtime: ModelRuntime) -> None:
    paper = np.full((8, 8, 3), 255, np.uint8)
    paper[2:6, 3:5] = 0  # a dark stroke on white paper: ink is the dark part
    prepared = run_to_completion(encode_job(runtime, "tiny-rbm", paper))
    assert prepared.latent[2 * 8 + 3] == 1.0 and prepared.latent[0] == 0.0
    assert (prepared.latent[32:] == -1).all()
    assert prepared.bits_per_dim is None and "free energy" in prepared.likelihood

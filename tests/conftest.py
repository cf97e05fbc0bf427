"""Shared fixtures: a tiny real model (built here, exported through the real exporter)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def tiny_gan_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 8x8 DCGAN exported as a complete model folder."""
    from studio.training.tiny import build_tiny_gan

    return build_tiny_gan(tmp_path_factory.mktemp("models") / "tiny-gan")


@pytest.fixture(scope="session")
def tiny_vae_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from studio.training.tiny import build_tiny_vae

    return build_tiny_vae(tmp_path_factory.mktemp("models") / "tiny-vae")


@pytest.fixture(scope="session")
def tiny_flow_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from studio.training.tiny import build_tiny_flow

    return build_tiny_flow(tmp_path_factory.mktemp("models") / "tiny-flow")


@pytest.fixture(scope="session")
def tiny_ddpm_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from studio.training.tiny import build_tiny_ddpm

    return build_tiny_ddpm(tmp_path_factory.mktemp("models") / "tiny-ddpm")


@pytest.fixture(scope="session")
def tiny_pixelcnn_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from studio.training.tiny import build_tiny_pixelcnn

    return build_tiny_pixelcnn(tmp_path_factory.mktemp("models") / "tiny-pixelcnn")


@pytest.fixture(scope="session")
def tiny_rbm_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from studio.training.tiny import build_tiny_rbm

    return build_tiny_rbm(tmp_path_factory.mktemp("models") / "tiny-rbm")


@pytest.fixture
def user_models(tmp_path: Path, tiny_gan_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user models directory holding a copy of the tiny GAN, set as the app's."""
    root = tmp_path / "user-models"
    shutil.copytree(tiny_gan_folder, root / "tiny-gan")
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(root))
    return root

"""Shared fixtures: a tiny real model (built here, exported through the real exporter)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _tiny_model(family: str):
    """A session fixture: a tiny, untrained `family` model exported as a complete folder by
    the real exporter (studio/training/tiny.py)."""

    @pytest.fixture(scope="session")
    def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
        from studio.training import tiny

        build = getattr(tiny, f"build_tiny_{family}")
        return build(tmp_path_factory.mktemp("models") / f"tiny-{family}")

    return folder


tiny_gan_folder = _tiny_model("gan")
tiny_vae_folder = _tiny_model("vae")
tiny_flow_folder = _tiny_model("flow")
tiny_ddpm_folder = _tiny_model("ddpm")
tiny_pixelcnn_folder = _tiny_model("pixelcnn")
tiny_rbm_folder = _tiny_model("rbm")
tiny_gpt_folder = _tiny_model("gpt")
tiny_wavenet_folder = _tiny_model("wavenet")
tiny_stylegan_folder = _tiny_model("stylegan")
tiny_adain_folder = _tiny_model("adain")


@pytest.fixture
def user_models(tmp_path: Path, tiny_gan_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user models directory holding a copy of the tiny GAN, set as the app's."""
    root = tmp_path / "user-models"
    shutil.copytree(tiny_gan_folder, root / "tiny-gan")
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(root))
    return root


@pytest.fixture
def open_window(qtbot, tmp_path: Path):
    """Opens a main window over copies of the given model folders, shown, its first picture
    rendered; closes it after the test."""
    from PySide6.QtCore import QSettings

    from studio.core.catalog import Catalog
    from studio.gui.main_window import MainWindow

    opened = []

    def open_with(*folders: Path) -> MainWindow:
        root = tmp_path / "models"
        for folder in folders:
            shutil.copytree(folder, root / folder.name)
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(Catalog([(root, "user")]), settings)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.image_panel.result is not None, timeout=10_000)
        opened.append(window)
        return window

    yield open_with
    for window in opened:
        window.close()


@pytest.fixture(scope="session")
def style_pictures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """An 80x64 gradient 'photo', a striped 'painting' and an 8x8 picture too small to use."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("style")
    y, x = np.mgrid[0:64, 0:80]
    photo = np.stack([x * 3, y * 3, np.full_like(x, 120)], -1).astype(np.uint8)
    stripes = np.stack([(np.sin(x / 2.0) > 0) * 220, np.full_like(x, 40), (y % 8 < 4) * 200], -1)
    Image.fromarray(photo).save(folder / "photo.png")
    Image.fromarray(stripes.astype(np.uint8)).save(folder / "stripes.png")
    Image.fromarray(photo[:8, :8]).save(folder / "tiny.png")
    return folder / "photo.png", folder / "stripes.png", folder / "tiny.png"

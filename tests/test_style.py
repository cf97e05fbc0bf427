"""Style transfer: the AdaIN operation, the decoder's shapes, and optimisation-based transfer
(Gatys et al.) on the bundled VGG-16 features: loss, cancel, colour keeping, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from studio.core.catalog import BUNDLED_MODELS, Catalog
from studio.core.errors import MediaError, RequestError
from studio.core.manifest import file_sha256
from studio.core.style_request import StyleRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.families.colour import keep_colours
from studio.nets.adain import Decoder, DecoderConfig, adain, mean_std


def test_adain_gives_the_content_the_style_statistics() -> None:
    torch.manual_seed(0)
    content = torch.randn(2, 8, 16, 16) * 3 + 1
    style = torch.randn(2, 8, 12, 12) * 0.5 - 2
    out = adain(content, style)
    out_mean, out_std = mean_std(out)
    style_mean, style_std = mean_std(style)
    torch.testing.assert_close(out_mean, style_mean, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out_std, style_std, atol=1e-3, rtol=1e-3)
    # the content's layout survives: normalised maps are the same up to the affine change
    normalised = (content - mean_std(content)[0]) / mean_std(content)[1]
    torch.testing.assert_close((out - style_mean) / style_std, normalised, atol=1e-3, rtol=1e-3)


def test_decoder_upsamples_relu4_1_back_to_pixels() -> None:
    decoder = Decoder(DecoderConfig(width=16)).eval()
    with torch.no_grad():
        image = decoder(torch.randn(1, 512, 4, 6))
    assert image.shape == (1, 3, 32, 48)


# -- optimisation-based transfer on the bundled VGG --------------------------------------------
@pytest.fixture(scope="module")
def pictures(style_pictures) -> tuple:
    return style_pictures


def request(content, style, **settings) -> StyleRequest:
    sha = lambda p: file_sha256(p) if p.is_file() else ""  # noqa: E731
    values = {"size": 48, "iterations": 6, **settings}
    return StyleRequest(str(content), sha(content), str(style), sha(style), **values)


@pytest.fixture(scope="module")
def runtime() -> ModelRuntime:
    return ModelRuntime(Catalog([(BUNDLED_MODELS, "bundled")]))


def test_optimisation_lowers_the_loss_and_stops_when_cancelled(runtime, pictures) -> None:
    photo, stripes, _ = pictures
    job = runtime.style_job(request(photo, stripes))
    losses = []
    for progress in job:
        losses.append(float(progress.message.rsplit(" ", 1)[1]))
        assert progress.preview.shape == (38, 48, 3)
        if progress.step == 4:
            job.close()  # what the engine does on cancel: nothing runs after this yield
            break
    assert len(losses) == 4 and losses[-1] < losses[0]
    result = run_to_completion(runtime.style_job(request(photo, stripes, iterations=3)))
    assert result.pixels.shape == (38, 48, 3) and result.provenance.backend == "torch"
    assert result.provenance.request.style_sha256 == file_sha256(stripes)


def test_keeping_colours_keeps_the_photo_chroma() -> None:
    rng = np.random.default_rng(0)
    photo, stylised = rng.random((8, 8, 3)), rng.random((8, 8, 3))
    kept = keep_colours(stylised, photo)
    to_ycc = np.array(
        [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
    )
    inside = (kept > 0.001).all(-1) & (kept < 0.999).all(-1)  # away from clipping
    np.testing.assert_allclose(
        (kept @ to_ycc.T)[inside][:, 1:], (photo @ to_ycc.T)[inside][:, 1:], atol=1e-5
    )
    np.testing.assert_allclose(
        (kept @ to_ycc.T)[inside][:, 0], (stylised @ to_ycc.T)[inside][:, 0], atol=1e-5
    )


def test_bad_inputs_get_clear_messages(runtime, pictures, tmp_path) -> None:
    photo, stripes, tiny = pictures
    with pytest.raises(MediaError, match=r"style picture .* is missing"):
        run_to_completion(runtime.style_job(request(photo, tmp_path / "gone.png")))
    with pytest.raises(MediaError, match="too small"):
        run_to_completion(runtime.style_job(request(tiny, stripes)))
    changed = request(photo, stripes)
    with pytest.raises(MediaError, match="changed since"):
        run_to_completion(
            runtime.style_job(StyleRequest(**{**changed.to_dict(), "style_sha256": "0" * 64}))
        )
    with pytest.raises(RequestError, match="AdaIN"):
        run_to_completion(runtime.style_job(request(photo, stripes, method="fast")))
    with pytest.raises(RequestError, match="size"):
        request(photo, stripes, size=5000)


def test_cli_stylizes_and_the_png_names_its_sources(pictures, tmp_path, monkeypatch, capsys):
    from studio.cli import main

    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(tmp_path / "none"))
    photo, stripes, _ = pictures
    out = tmp_path / "styled.png"
    args = ["stylize", "--content", str(photo), "--style", str(stripes), "--size", "40"]
    assert main([*args, "--iterations", "2", "--keep-colors", "--out", str(out)]) == 0
    assert main(["info", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "stripes.png" in printed and "keep_colors    True" in printed
    assert main([*args, "--out", str(tmp_path / "x.gif")]) == 2


def test_style_panel_stylizes_exports_and_restores(
    qtbot, open_window, tiny_gan_folder, pictures, tmp_path
) -> None:
    window = open_window(tiny_gan_folder, BUNDLED_MODELS / "vgg16-features")
    panel = window.style_panel
    photo, stripes, _ = pictures
    panel.set_content(photo)
    panel.set_style(stripes)
    panel.side.setValue(64)
    panel.iterations.setValue(3)
    panel.keep_colors.setChecked(True)
    with qtbot.waitSignal(panel.rendered, timeout=60_000) as rendered:
        panel.go.click()
    result = rendered.args[0]
    assert result.pixels.shape == (51, 64, 3) and result.request.keep_colors
    panel.before.setChecked(True)  # before/after: the photo (80x64) in the result's place
    assert panel.result_box._pixmap.width() == 80
    panel.before.setChecked(False)
    assert panel.result_box._pixmap.width() == 64
    window.tabs.setCurrentWidget(panel)
    out = tmp_path / "styled.png"
    assert window.export_to(out, panel=window.style_panel)
    panel.iterations.setValue(99)
    panel.keep_colors.setChecked(False)
    assert window.open_file(out)
    assert panel.iterations.value() == 3 and panel.keep_colors.isChecked()
    assert panel.current_request() == result.request


def test_style_panel_takes_the_image_panel_picture_as_content(
    qtbot, open_window, tiny_gan_folder
) -> None:
    window = open_window(tiny_gan_folder)
    window.style_panel.content_from_image_panel()
    assert window.style_panel.content_path is not None
    assert window.style_panel.content_path.name.startswith("tiny-gan-seed")


def test_optimisation_keeps_colours_by_matching_the_style_colours(runtime, pictures) -> None:
    photo, stripes, _ = pictures
    settings = {"keep_colors": True, "iterations": 2}
    luminance = run_to_completion(runtime.style_job(request(photo, stripes, **settings)))
    matched = run_to_completion(
        runtime.style_job(request(photo, stripes, color_method="match", **settings))
    )
    assert not np.array_equal(luminance.pixels, matched.pixels)
    # the photo's mean colour survives either way
    original = np.asarray(Image.open(photo).resize((48, 38)), float).mean((0, 1))
    # measured 2.5 levels: the start is the photo and the recoloured style has its mean
    assert np.abs(matched.pixels.mean((0, 1)) - original).max() < 3.5

"""Fast style transfer (AdaIN): the statistics maths, style blending, colour matching, and the
whole path on a tiny untrained decoder over the bundled VGG-16 (the trained decoder's
behaviour is in test_bundled_models.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.catalog import BUNDLED_MODELS, Catalog
from studio.core.errors import RequestError
from studio.core.manifest import file_sha256
from studio.core.style_request import StyleRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.families.adain import AdainFamily, adain_target, channel_statistics, to_multiple
from studio.families.colour import match_colours
from studio.families.style_features import StyleFeaturesFamily


@pytest.fixture(scope="module")
def runtime(tiny_adain_folder: Path) -> ModelRuntime:
    return ModelRuntime(Catalog([(BUNDLED_MODELS, "bundled"), (tiny_adain_folder.parent, "user")]))


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("fast-style")
    y, x = np.mgrid[0:60, 0:84]
    photo = np.stack([x * 3, y * 4, np.full_like(x, 90)], -1).astype(np.uint8)
    stripes = np.stack([(x % 6 < 3) * 230, np.full_like(x, 30), (y % 10 < 5) * 180], -1)
    dots = np.stack([np.full_like(x, 20), ((x - 40) ** 2 + (y - 30) ** 2 < 300) * 240, x], -1)
    paths = folder / "photo.png", folder / "stripes.png", folder / "dots.png"
    for path, pixels in zip(paths, (photo, stripes, dots), strict=True):
        Image.fromarray(pixels.astype(np.uint8)).save(path)
    return paths


def request(content: Path, style: Path, **settings) -> StyleRequest:
    values = {"model_id": "tiny-adain", "method": "fast", "size": 64, **settings}
    sha = file_sha256
    return StyleRequest(str(content), sha(content), str(style), sha(style), **values)


def test_adain_target_takes_the_mixed_statistics_and_strength_blends() -> None:
    rng = np.random.default_rng(0)
    content = rng.normal(2.0, 3.0, (1, 4, 5, 6)).astype(np.float32)
    style_a = (np.full((4, 1, 1), -1.0), np.full((4, 1, 1), 0.5), 0.25)
    style_b = (np.full((4, 1, 1), 3.0), np.full((4, 1, 1), 2.5), 0.75)
    mean, std = channel_statistics(adain_target(content, [style_a, style_b], 1.0))
    np.testing.assert_allclose(mean, 0.25 * -1 + 0.75 * 3, atol=1e-4)
    np.testing.assert_allclose(std, 0.25 * 0.5 + 0.75 * 2.5, atol=1e-3)
    np.testing.assert_allclose(adain_target(content, [style_a], 0.0), content, atol=1e-6)
    half = adain_target(content, [style_a], 0.5)
    full = adain_target(content, [style_a], 1.0)
    np.testing.assert_allclose(half, (full + content) / 2, atol=1e-5)


def test_colour_matching_gives_the_style_the_photo_colour_statistics() -> None:
    rng = np.random.default_rng(1)
    photo = (rng.random((40, 40, 3)) * [200, 120, 60] + [30, 60, 90]).astype(np.uint8)
    style = rng.integers(0, 256, (30, 50, 3), dtype=np.uint8)
    style[..., 1] //= 2  # a different covariance as well as mean
    matched = match_colours(style, photo).reshape(-1, 3).astype(float)
    target = photo.reshape(-1, 3).astype(float)
    np.testing.assert_allclose(matched.mean(0), target.mean(0), atol=1.5)
    np.testing.assert_allclose(np.cov(matched, rowvar=False), np.cov(target, rowvar=False), atol=25)


def test_sizes_become_multiples_of_eight() -> None:
    pixels = np.zeros((61, 83, 3), np.uint8)
    assert to_multiple(pixels, 8).shape == (64, 80, 3)
    assert to_multiple(np.zeros((8, 8, 3), np.uint8), 8).shape == (16, 16, 3)


def test_fast_stylize_is_one_pass_at_the_photo_size_and_reuses_features(
    runtime: ModelRuntime, pictures, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo, stripes, _ = pictures
    first = run_to_completion(runtime.style_job(request(photo, stripes)))
    assert first.pixels.shape == (46, 64, 3) and first.pixels.dtype == np.uint8
    assert first.provenance.backend == "onnx" and first.provenance.request == request(
        photo, stripes
    )
    again = run_to_completion(runtime.style_job(request(photo, stripes)))
    np.testing.assert_array_equal(first.pixels, again.pixels)
    decoder, encoder = runtime.family("tiny-adain"), runtime.family("vgg16-features")
    assert isinstance(decoder, AdainFamily) and isinstance(encoder, StyleFeaturesFamily)
    calls: list[tuple[int, ...]] = []
    original = encoder.features

    def counted(pixels: np.ndarray) -> dict[str, np.ndarray]:
        calls.append(pixels.shape)
        return original(pixels)

    monkeypatch.setattr(encoder, "features", counted)
    # a strength change decodes again but encodes nothing (the runtime is shared by this
    # module's tests, so other pictures may be remembered too: compare, don't count)
    remembered = dict(decoder._features)
    weaker = run_to_completion(runtime.style_job(request(photo, stripes, strength=0.3)))
    assert calls == [] and dict(decoder._features).keys() == remembered.keys()
    assert {key[0] for key in remembered} >= {"content", "style"}
    assert not np.array_equal(weaker.pixels, first.pixels)


def test_blending_styles_and_colour_keeping_change_the_result(runtime, pictures) -> None:
    photo, stripes, dots = pictures
    alone = run_to_completion(runtime.style_job(request(photo, stripes))).pixels
    blend = ((str(dots), file_sha256(dots), 0.5),)
    mixed = run_to_completion(runtime.style_job(request(photo, stripes, blend=blend)))
    assert not np.array_equal(mixed.pixels, alone)
    assert mixed.provenance.request == request(photo, stripes, blend=blend)
    for method in ("luminance", "match"):
        kept = request(photo, stripes, keep_colors=True, color_method=method)
        assert not np.array_equal(run_to_completion(runtime.style_job(kept)).pixels, alone)


def test_style_requests_validate_blends_and_round_trip(pictures) -> None:
    photo, stripes, dots = pictures
    blend = ((str(dots), file_sha256(dots), 0.4),)
    made = request(photo, stripes, blend=blend, keep_colors=True, color_method="match")
    assert StyleRequest.from_dict(made.to_dict()) == made
    assert [w for *_, w in made.styles()] == pytest.approx([0.6, 0.4])
    with pytest.raises(RequestError, match="sum to at most 1"):
        request(photo, stripes, blend=(("a", "", 0.7), ("b", "", 0.6)))
    with pytest.raises(RequestError, match="strength must be 0 to 1"):
        request(photo, stripes, strength=2.0)
    with pytest.raises(RequestError, match="color_method"):
        request(photo, stripes, color_method="sepia")
    with pytest.raises(RequestError, match="the fast method needs an AdaIN model"):
        run_to_completion(
            ModelRuntime(Catalog([(BUNDLED_MODELS, "bundled")])).style_job(
                request(photo, stripes, model_id="vgg16-features")
            )
        )


def test_cli_stylizes_fast_with_a_blend(pictures, tiny_adain_folder, tmp_path, monkeypatch):
    from studio.cli import main
    from studio.media.image import read_image

    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(tiny_adain_folder.parent))
    photo, stripes, dots = pictures
    out = tmp_path / "fast.png"
    args = ["stylize", "--content", str(photo), "--style", str(stripes), "--method", "fast"]
    options = ["--model", "tiny-adain", "--blend", f"{dots}=0.3", "--strength", "0.7"]
    colours = ["--keep-colors", "--color-method", "match", "--size", "48"]
    assert main([*args, *options, *colours, "--out", str(out)]) == 0
    pixels, provenance = read_image(out)
    assert pixels.shape == (34, 48, 3) and provenance is not None
    assert provenance.request == request(
        photo,
        stripes,
        blend=((str(dots), file_sha256(dots), 0.3),),
        strength=0.7,
        keep_colors=True,
        color_method="match",
        size=48,
    )
    assert main([*args, "--strength", "3", "--out", str(tmp_path / "x.png")]) == 2


# -- the panel ---------------------------------------------------------------------------------
def test_style_panel_previews_the_fast_method_as_the_sliders_move(
    qtbot, open_window, tiny_gan_folder, tiny_adain_folder, pictures, tmp_path, monkeypatch
) -> None:
    from PySide6.QtGui import QGuiApplication, QImage

    from studio.gui import style_panel

    window = open_window(tiny_gan_folder, BUNDLED_MODELS / "vgg16-features", tiny_adain_folder)
    panel = window.style_panel
    panel.set_model("tiny-adain")
    assert panel.method == "fast" and not panel.iterations.isEnabled()
    photo, stripes, dots = pictures
    panel.side.setValue(64)
    monkeypatch.setattr(style_panel, "DRAG_SIDE", 32)  # below the test's 64 px
    panel.set_content(photo)
    panel.set_style(stripes)  # both pictures there: the preview starts by itself

    def shown(**expected) -> None:
        def check() -> None:
            assert panel.result is not None
            request = panel.result.request
            for key, value in expected.items():
                assert getattr(request, key) == value, key

        qtbot.waitUntil(check, timeout=TIMEOUT)

    shown(method="fast", strength=1.0)
    first = panel.result.pixels
    panel.strength.setSliderDown(True)  # held: small previews follow the slider
    panel.strength.setValue(30)  # the slider alone re-renders
    shown(strength=0.3, size=32)
    panel.strength.setSliderDown(False)  # let go: the full size
    shown(strength=0.3, size=64)
    assert not np.array_equal(panel.result.pixels, first)
    panel.set_blend(dots)
    panel.blend_weight.setValue(40)
    shown(blend=((str(dots), file_sha256(dots), 0.4),))
    window.tabs.setCurrentWidget(panel)
    out = tmp_path / "fast.png"
    assert window.export_to(out, panel=window.style_panel)
    panel.strength.setValue(90)
    panel.set_blend(None)
    previews = []
    render = panel.preview
    monkeypatch.setattr(panel, "preview", lambda: (previews.append(1), render()))
    assert window.open_file(out)
    assert len(previews) == 1  # restoring sets many controls but renders once
    assert panel.strength.value() == 30 and panel.blend_path == dots
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert panel.current_request() == panel.result.request
    # content from the clipboard
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(0xFF3366AA)
    QGuiApplication.clipboard().setImage(image)
    panel.content_from_clipboard()
    assert panel.content_path is not None and panel.content_path.name == "pasted.png"


TIMEOUT = 20_000


def test_grey_and_transparent_pictures_work_and_bad_files_say_why(
    runtime: ModelRuntime, pictures, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studio.core.errors import MediaError
    from studio.media import image as image_module

    photo, stripes, _ = pictures
    grey, clear = tmp_path / "grey.png", tmp_path / "clear.png"
    Image.open(photo).convert("L").save(grey)
    with_alpha = Image.open(stripes).convert("RGBA")
    with_alpha.putalpha(128)
    with_alpha.save(clear)
    result = run_to_completion(runtime.style_job(request(grey, clear)))
    assert result.pixels.shape == (46, 64, 3)
    junk, cut = tmp_path / "junk.png", tmp_path / "cut.png"
    junk.write_bytes(b"not a picture at all")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 84, 3), np.uint8)).save(cut)
    cut.write_bytes(cut.read_bytes()[:2000])  # noise does not compress: the data is cut off
    for bad, reason in ((junk, "not an image"), (cut, "damaged or truncated")):
        with pytest.raises(MediaError, match=reason):
            run_to_completion(runtime.style_job(request(photo, bad)))
    monkeypatch.setattr(image_module, "MAX_PIXELS", 1000)
    with pytest.raises(MediaError, match="larger than"):
        run_to_completion(runtime.style_job(request(photo, stripes)))

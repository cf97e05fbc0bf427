"""Audio: the cached WaveNet against the naive one, seeds, timbre, files, CLI and the panel.

Family, file and GUI tests run on a tiny untrained WaveNet exported by the real exporter;
the bundled model's behaviour (pitch follows the request) is in test_bundled_models.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from studio.cli import main
from studio.core.audio_request import AudioRequest
from studio.core.catalog import Catalog
from studio.core.corners import corner_mix, fit_corners
from studio.core.errors import MediaError, RequestError
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.families.wavenet import note_loudness
from studio.gui.main_window import MainWindow
from studio.media.audio import read_audio, write_audio
from studio.nets.wavenet import WaveNet, WaveNetConfig, cached_matches_naive

TIMEOUT = 10_000


@pytest.fixture(scope="module")
def runtime(tiny_wavenet_folder: Path) -> ModelRuntime:
    return ModelRuntime(Catalog([(tiny_wavenet_folder.parent, "user")]))


def render(runtime: ModelRuntime, **settings) -> np.ndarray:
    request = AudioRequest("tiny-wavenet", **{"seconds": 0.2, **settings})
    return run_to_completion(runtime.audio_job(request)).audio


def test_cached_generation_equals_naive_generation_sample_for_sample() -> None:
    torch.manual_seed(0)
    config = WaveNetConfig(channels=8, skip_channels=8, head_channels=16, dilations=(1, 3, 9) * 2)
    # twice the receptive field (53 samples), across several blocks
    assert cached_matches_naive(WaveNet(config).eval(), length=110, seed=3, block=32)


def test_same_seed_same_samples_and_the_settings_matter(runtime: ModelRuntime) -> None:
    first = render(runtime, seed=1)
    assert first.shape == (3200,) and first.dtype == np.float32
    assert np.abs(first).max() <= 1.0
    np.testing.assert_array_equal(first, render(runtime, seed=1))
    others = (
        {"seed": 2},
        {"pitch": 67},
        {"mix": {"Violin": 1.0}},
        {"offsets": {"PC1": 2.0}},
        {"release_at": 0.05},
    )
    for other in others:
        assert not np.array_equal(first, render(runtime, **{"seed": 1, **other})), other


def test_onnx_block_and_torch_block_agree(runtime: ModelRuntime) -> None:
    onnx = render(runtime, seed=4, backend="onnx")
    torch_samples = render(runtime, seed=4, backend="torch")
    differ = np.flatnonzero(onnx != torch_samples)
    # same draws, same classes: only a near-tie in the inverse CDF (float32 kernels differ in
    # the last bits) may split, anywhere in the note; measured 0 to 2 of 3,200 samples
    assert len(differ) <= len(onnx) // 200, differ[:10]


def test_a_morph_is_the_weighted_mean_of_the_instruments(runtime: ModelRuntime) -> None:
    family = runtime.family("tiny-wavenet")
    half = family.timbre(AudioRequest("tiny-wavenet", mix={"Piano": 1, "Flute": 1}))
    piano, flute = family.table[0], family.table[2]
    np.testing.assert_allclose(half, (piano + flute) / 2, rtol=1e-6)
    with pytest.raises(RequestError, match="no instrument 'Tuba'"):
        family.timbre(AudioRequest("tiny-wavenet", mix={"Tuba": 1}))


def test_the_loudness_curve_follows_the_key() -> None:
    attack, sustain, release = np.linspace(0, 1, 10), np.full(190, 0.8), np.linspace(0.8, 0, 50)
    curve = np.concatenate([attack, sustain, release])  # held 0.8 s, released over 0.2 s
    one_second = note_loudness(curve, 1.0, 0.8, 0.8, 16_000, 64)
    np.testing.assert_allclose(one_second[::64], curve, atol=1e-6)  # as measured
    longer = note_loudness(curve, 2.0, 1.8, 0.8, 16_000, 64)
    assert np.allclose(longer[16_000:28_000], 0.8) and longer[-64:].max() < 0.02
    short = note_loudness(curve, 1.0, 0.1, 0.8, 16_000, 64)  # let go early
    level = short[1_599]
    assert level == pytest.approx(curve[25], abs=0.02)
    assert short[1_600] == pytest.approx(level, rel=0.01) and short[8_000:].max() == 0.0


def test_the_mix_sets_the_loudness_and_the_key_is_held_until_the_release(
    runtime: ModelRuntime,
) -> None:
    family = runtime.family("tiny-wavenet")
    piano = family.loudness(AudioRequest("tiny-wavenet", mix={"Piano": 1}))
    flute = family.loudness(AudioRequest("tiny-wavenet", mix={"Flute": 1}))
    both = family.loudness(AudioRequest("tiny-wavenet", mix={"Piano": 1, "Flute": 1}))
    np.testing.assert_allclose(both, (piano + flute) / 2, rtol=1e-5, atol=1e-6)
    assert family.release_at(AudioRequest("tiny-wavenet", seconds=3.0)) == pytest.approx(2.8)
    assert family.release_at(AudioRequest("tiny-wavenet", seconds=3.0, release_at=1.0)) == 1.0


def test_a_stopped_note_keeps_what_was_rendered(runtime: ModelRuntime) -> None:
    job = runtime.audio_job(AudioRequest("tiny-wavenet", seconds=2.0, seed=5))
    progress = next(job)
    job.close()
    partial = progress.partial
    again = run_to_completion(runtime.audio_job(partial.request))
    np.testing.assert_array_equal(again.audio, partial.audio)


def test_requests_are_validated_and_round_trip() -> None:
    request = AudioRequest(
        "m", pitch=64, mix={"A": 0.25, "B": 0.75}, offsets={"PC2": -1.0}, release_at=0.5
    )
    assert AudioRequest.from_dict(request.to_dict()) == request
    bad_settings = (
        {"pitch": 200},
        {"seconds": 0},
        {"mix": {"A": -1}},
        {"temperature": 0},
        {"release_at": -1.0},
    )
    for bad in bad_settings:
        with pytest.raises(RequestError):
            AudioRequest("m", **bad)


def test_wav_and_flac_round_trip_with_settings(runtime: ModelRuntime, tmp_path: Path) -> None:
    result = run_to_completion(runtime.audio_job(AudioRequest("tiny-wavenet", seconds=0.2)))
    for name in ("note.wav", "note.flac"):
        path = tmp_path / name
        write_audio(path, result.audio, result.sample_rate, result.provenance)
        audio, rate, provenance = read_audio(path)
        assert rate == 16_000 and provenance is not None
        assert provenance.request == result.request
        assert np.abs(audio - result.audio).max() <= 1 / 32768 + 1e-7  # 16-bit PCM
        with pytest.raises(MediaError, match="already exists"):
            write_audio(path, result.audio, result.sample_rate, result.provenance)


def test_bad_audio_files_get_clear_messages(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.wav"
    write_audio(tmp_path / "whole.wav", np.zeros(1000, np.float32), 16_000)
    truncated.write_bytes((tmp_path / "whole.wav").read_bytes()[:30])
    with pytest.raises(MediaError, match="not a readable audio file"):
        read_audio(truncated)
    with pytest.raises(MediaError, match="no such file"):
        read_audio(tmp_path / "missing.flac")
    with pytest.raises(MediaError, match=r"\.wav or \.flac"):
        write_audio(tmp_path / "x.mp3", np.zeros(10, np.float32), 16_000)


def test_cli_renders_a_note_and_reproduces_it(
    tiny_wavenet_folder: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(tiny_wavenet_folder.parent))
    first, second = tmp_path / "a.flac", tmp_path / "b.flac"
    args = ["generate", "--model", "tiny-wavenet", "--pitch", "62", "--seconds", "0.25"]
    assert (
        main([*args, "--instrument", "Violin=0.3", "--instrument", "Flute", "--out", str(first)])
        == 0
    )
    assert "D4" in capsys.readouterr().out
    assert main(["generate", "--from", str(first), "--out", str(second)]) == 0
    np.testing.assert_array_equal(read_audio(first)[0], read_audio(second)[0])
    request = read_audio(first)[2].request
    assert request.pitch == 62 and dict(request.mix) == {"Violin": 0.3, "Flute": 1.0}
    assert main(["info", str(first)]) == 0 and "audio" in capsys.readouterr().out


# -- the panel -------------------------------------------------------------------------------
@pytest.fixture
def window(open_window, tiny_gan_folder: Path, tiny_wavenet_folder: Path) -> MainWindow:
    return open_window(tiny_gan_folder, tiny_wavenet_folder)


def test_panel_morphs_generates_and_exports_a_flac_that_restores(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    panel = window.audio_panel
    assert not panel.player._probed  # no sound device is asked for at launch
    window.browser.modelChosen.emit("tiny-wavenet")
    assert window.tabs.currentWidget() is panel
    panel.instrument_a.setCurrentText("Piano")
    panel.instrument_b.setCurrentText("Flute")
    panel.morph.setValue(25)
    panel.keyboard.noteClicked.emit(64)
    panel.seconds.setValue(0.5)
    panel.release_at.setValue(0.2)
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT) as rendered:
        panel.generate_button.click()
    result = rendered.args[0]
    assert panel.pitch.value() == 64 and result.request.pitch == 64
    assert dict(result.request.mix) == {"Piano": 0.75, "Flute": 0.25}
    assert result.request.release_at == 0.2
    assert len(panel.waveform.audio) == 8000 and panel.spectrogram.image is not None
    # no sound device here: playback is off and says why, the rest works
    assert not panel.play_button.isEnabled() and "playback is off" in panel.info.text()
    path = tmp_path / "note.flac"
    assert window.export_to(path, panel=window.audio_panel)
    panel.morph.setValue(100)
    panel.pitch.setValue(50)
    panel.release_at.setValue(0.0)
    assert window.open_file(path)
    assert panel.morph.value() == 25 and panel.pitch.value() == 64
    assert panel.current_request() == result.request


def test_the_xy_pad_and_the_two_sliders_move_together(qtbot, window: MainWindow) -> None:
    panel = window.audio_panel
    window.choose_model("tiny-wavenet")
    pad = panel.pad
    # by default the bottom row repeats the top one: a plain morph A -> B
    assert panel.instrument_c.currentText() == "(same as A)"
    assert panel.instrument_d.currentText() == "(same as B)"
    assert pad.corners == ("Piano", "Violin", "Piano", "Violin")
    assert pad.width() >= 160 and pad.height() >= 160
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=pad.point_at(0.1, 0.1).toPoint())
    with qtbot.waitSignal(pad.moved) as moved:
        qtbot.mouseMove(pad, pad.point_at(0.7, 0.3).toPoint())
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=pad.point_at(0.7, 0.3).toPoint())
    x, y = moved.args
    assert x == pytest.approx(0.7, abs=0.02) and y == pytest.approx(0.3, abs=0.02)
    assert panel.morph.value() == round(x * 100) and panel.morph_y.value() == round(y * 100)
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=pad.point_at(1.5, -1).toPoint())
    assert (panel.morph.value(), panel.morph_y.value()) == (100, 0)  # held to the square
    panel.morph.setValue(40)
    panel.morph_y.setValue(80)
    assert pad.position == (0.4, 0.8)
    panel.instrument_c.setCurrentText("Flute")
    assert pad.corners == ("Piano", "Violin", "Flute", "Violin")


def test_four_corners_mix_bilinearly_and_a_flac_restores_them(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    panel = window.audio_panel
    window.choose_model("tiny-wavenet")
    panel.instrument_a.setCurrentText("Piano")
    panel.instrument_b.setCurrentText("Violin")
    panel.instrument_c.setCurrentText("Flute")
    panel.instrument_d.setCurrentText("Violin")
    panel.morph.setValue(25)
    panel.morph_y.setValue(50)
    panel.seconds.setValue(0.2)
    # A (1-x)(1-y) = 0.375, B x(1-y) + D xy = 0.25, C (1-x)y = 0.375
    assert dict(panel.current_request().mix) == {"Piano": 0.375, "Violin": 0.25, "Flute": 0.375}
    with qtbot.waitSignal(panel.rendered, timeout=TIMEOUT) as rendered:
        panel.generate_button.click()
    request = rendered.args[0].request
    assert request == panel.current_request()
    path = tmp_path / "corners.flac"
    assert window.export_to(path, panel=window.audio_panel)
    panel.instrument_c.setCurrentIndex(0)  # back to a morph Piano -> Violin
    panel.instrument_d.setCurrentText("Flute")
    panel.morph.setValue(90)
    panel.morph_y.setValue(0)
    assert window.open_file(path)
    assert panel.corners() == ("Piano", "Violin", "Flute", "Violin")
    assert panel.instrument_d.currentText() == "(same as B)"  # the same corner, said shorter
    assert (panel.morph.value(), panel.morph_y.value()) == (25, 50)
    assert panel.pad.position == (0.25, 0.5)
    assert panel.current_request() == request
    # two instruments go back to a morph on the top row
    panel.apply_request(AudioRequest("tiny-wavenet", mix=(("Flute", 0.3), ("Piano", 0.7))))
    assert panel.corners() == ("Flute", "Piano", "Flute", "Piano")
    assert (panel.morph.value(), panel.morph_y.value()) == (70, 0)


def test_fit_corners_finds_the_corners_and_position_of_a_four_way_mix() -> None:
    top = ("Piano", "Violin", "Piano", "Violin")
    backwards = ("Violin", "Piano", "Oboe", "Flute")
    placements = [
        (("Violin", "Oboe", "Piano", "Flute"), 37, 42),  # four instruments
        (("Piano", "Flute", "Oboe", "Piano"), 8, 45),  # one on a diagonal: two solutions
        (("Oboe", "Oboe", "Flute", "Piano"), 63, 99),  # one on a row
    ]
    for corners, x, y in placements:
        mix = corner_mix(corners, x / 100, y / 100)
        assert sum(mix.values()) == pytest.approx(1.0)
        assert fit_corners(mix, corners) == (corners, x, y)  # the current corners are kept
        for current in (top, backwards):
            found, fx, fy = fit_corners(mix, current)
            assert corner_mix(found, fx / 100, fy / 100) == mix  # bit for bit
    # more than four: the four heaviest, as near as the pad gets
    found, fx, fy = fit_corners({"Piano": 3, "Violin": 2, "Oboe": 1, "Flute": 1.5, "Tuba": 3}, top)
    assert "Oboe" not in found and found[:2] == ("Piano", "Violin")


def test_subharmonic_summation_hears_a_pitch_through_noise_that_defeats_yin() -> None:
    from studio.core.pitch import cents, estimate_f0, harmonic_f0, midi_to_hz

    t = np.arange(8000) / 16_000
    rng = np.random.default_rng(0)
    for note in (45, 52, 60, 67, 74):
        f = float(midi_to_hz(note))
        tone = sum(np.sin(2 * np.pi * k * f * t + k) / k for k in (1, 2, 3, 4))
        noisy = tone + rng.normal(0.0, 1.0, len(t))  # noise as loud as the tone
        assert estimate_f0(noisy) is None
        assert abs(cents(harmonic_f0(noisy), note)) < 10
    assert harmonic_f0(np.zeros(8000)) is None


def test_yin_finds_the_pitch_of_a_harmonic_tone_and_none_in_noise() -> None:
    from studio.core.pitch import cents, estimate_f0, midi_to_hz

    t = np.arange(8000) / 16_000
    for note in (48, 60, 69, 76):
        f = float(midi_to_hz(note))
        tone = sum(np.sin(2 * np.pi * k * f * t + k) / k for k in (1, 2, 3, 4))
        assert abs(cents(estimate_f0(tone), note)) < 5
    assert estimate_f0(np.random.default_rng(0).standard_normal(8000)) is None
    assert estimate_f0(np.zeros(8000)) is None


def test_panel_renders_a_scale_into_a_folder(qtbot, window: MainWindow, tmp_path: Path) -> None:
    panel = window.audio_panel
    window.choose_model("tiny-wavenet")
    panel.seconds.setValue(0.1)
    panel.pitch.setValue(60)
    with qtbot.waitSignal(panel.setRendered, timeout=TIMEOUT) as done:
        panel.render_set("scale", tmp_path)
    names = [p.name for p in done.args[0]]
    assert names[0] == "01-C4.flac" and names[-1] == "08-C5.flac" and len(names) == 8
    assert read_audio(tmp_path / "03-E4.flac")[2].request.pitch == 64


def test_a_chord_is_its_notes_and_their_mix(runtime: ModelRuntime, tmp_path: Path) -> None:
    base = AudioRequest("tiny-wavenet", pitch=57, seconds=0.1)
    written = run_to_completion(runtime.note_set_job(base, "chord", tmp_path, ".wav"))
    assert [p.name for p in written] == [
        "01-A3.wav",
        "02-Cs4.wav",
        "03-E4.wav",
        "04-A4.wav",
        "chord.wav",
    ]
    assert read_audio(written[-1])[2] is None and read_audio(written[1])[2].request.pitch == 61

"""Every knob of every bundled model moves its output, in the expected direction where there
is one. Each assertion is one that a knob ignored, read from the wrong field or stuck at its
default would fail. Runs the bundled models through the engine's job API as the command line
does, at tiny sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.audio_request import AudioRequest
from studio.core.catalog import Catalog
from studio.core.errors import RequestError
from studio.core.manifest import file_sha256
from studio.core.pitch import cents, harmonic_f0
from studio.core.results import AudioResult, ImageResult
from studio.core.style_request import StyleRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime

LATENT_MODELS = ["gan-emoji-32", "vae-emoji-32", "flow-emoji-32", "ddpm-emoji-32"]
# models whose draw is temperature x a plain normal draw; the VAE maps it through its
# ex-post mixture prior (mean + L z), so its latent is affine, not proportional, in it
PLAIN_PRIOR = {"gan-emoji-32", "flow-emoji-32", "ddpm-emoji-32"}
QUICK = {"ddpm-emoji-32": {"steps": 2}}  # settings that keep a model fast
WAVENET = "wavenet-notes-16k"


@pytest.fixture(scope="module")
def runtime() -> ModelRuntime:
    return ModelRuntime(Catalog())


def image(runtime: ModelRuntime, model_id: str, **settings) -> ImageResult:
    request = runtime.default_request(model_id, **{**QUICK.get(model_id, {}), **settings})
    return run_to_completion(runtime.image_job(request))


def differ(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape != b.shape or not np.array_equal(a, b)


# --- GAN, VAE, flow, diffusion: the latent draw ----------------------------------------------


@pytest.mark.parametrize("model_id", LATENT_MODELS)
def test_temperature_scales_the_latent_draw(runtime: ModelRuntime, model_id: str) -> None:
    z = {t: image(runtime, model_id, seed=4, temperature=t) for t in (0.3, 0.6, 0.9)}
    lat = {t: r.latents.astype(np.float64) for t, r in z.items()}
    step = lat[0.6] - lat[0.3]
    assert np.linalg.norm(step) > 1.0  # the knob is read
    np.testing.assert_allclose(lat[0.9] - lat[0.6], step, atol=1e-4)  # linear in it
    anchor = 2 * lat[0.3] - lat[0.6]  # the latent at temperature 0
    spread = [np.linalg.norm(lat[t] - anchor) for t in (0.3, 0.6, 0.9)]
    assert spread[0] < spread[1] < spread[2]  # lower temperature: closer to the centre
    if model_id in PLAIN_PRIOR:  # ... which is 0: a smaller latent norm
        np.testing.assert_allclose(anchor, 0, atol=1e-4)
    assert differ(z[0.3].pixels, z[0.9].pixels)


def test_each_model_starts_at_its_own_temperature(runtime: ModelRuntime) -> None:
    for model_id in LATENT_MODELS:
        stated = runtime.catalog.get(model_id).parameters.get("default_temperature", 1.0)
        assert runtime.default_request(model_id).temperature == stated


@pytest.mark.parametrize("model_id", LATENT_MODELS)
def test_truncation_bounds_the_draw(runtime: ModelRuntime, model_id: str) -> None:
    free = image(runtime, model_id, seed=6)
    tight = image(runtime, model_id, seed=6, truncation=0.5)
    loose = image(runtime, model_id, seed=6, truncation=1.5)
    assert differ(free.pixels, tight.pixels) and differ(tight.pixels, loose.pixels)
    if model_id in PLAIN_PRIOR:
        temperature = free.request.temperature
        assert np.abs(tight.latents).max() <= 0.5 * temperature + 1e-6
        assert np.abs(loose.latents).max() <= 1.5 * temperature + 1e-6
        assert np.abs(free.latents).max() > 1.5 * temperature
        norms = [np.linalg.norm(r.latents) for r in (tight, loose, free)]
        assert norms[0] < norms[1] < norms[2]
    else:
        assert differ(free.latents, tight.latents)


@pytest.mark.parametrize("model_id", LATENT_MODELS)
def test_each_direction_moves_the_latent_along_its_own_axis(
    runtime: ModelRuntime, model_id: str
) -> None:
    names = runtime.describe(model_id).direction_names[:3]
    assert len(names) == 3
    base = image(runtime, model_id, seed=2)
    moves = []
    for name in names:
        one = image(runtime, model_id, seed=2, offsets=((name, 1.0),))
        two = image(runtime, model_id, seed=2, offsets=((name, 2.0),))
        move = (one.latents - base.latents).ravel().astype(np.float64)
        assert np.linalg.norm(move) > 0.1, name
        np.testing.assert_allclose(two.latents - base.latents, 2 * (one.latents - base.latents),
                                   atol=1e-4, err_msg=name)  # fmt: skip
        assert differ(one.pixels, base.pixels), name
        moves.append(move / np.linalg.norm(move))
    cosines = np.abs(np.array(moves) @ np.array(moves).T - np.eye(3))
    assert cosines.max() < 0.05  # each slider its own (principal) direction


@pytest.mark.parametrize(
    "model_id",
    [
        "gan-emoji-32",
        "vae-emoji-32",
        "flow-emoji-32",
        "ddpm-emoji-32",  # its default eta is above 0: each cell draws its own step noise
        "rbm-glyphs-28",
    ],
)
def test_grid_cell_k_is_the_picture_of_seed_plus_k(runtime: ModelRuntime, model_id: str) -> None:
    settings = {"steps": 3} if model_id == "rbm-glyphs-28" else {}
    grid = image(runtime, model_id, seed=5, grid=(1, 3), **settings)
    side = grid.pixels.shape[0]
    cells = [image(runtime, model_id, seed=5 + k, **settings).pixels for k in range(3)]
    assert differ(cells[0], cells[1]) and differ(cells[1], cells[2])  # the seed is read
    for k, cell in enumerate(cells):
        np.testing.assert_array_equal(grid.pixels[:, k * side : (k + 1) * side], cell)


def test_diffusion_grid_cells_match_single_seeds_when_deterministic(
    runtime: ModelRuntime,
) -> None:
    grid = image(runtime, "ddpm-emoji-32", seed=5, grid=(1, 2), eta=0.0)
    for k in range(2):
        cell = image(runtime, "ddpm-emoji-32", seed=5 + k, eta=0.0).pixels
        np.testing.assert_array_equal(grid.pixels[:, 32 * k : 32 * (k + 1)], cell)


# --- diffusion: eta, steps, sampler ------------------------------------------------------------


def test_eta_zero_ignores_the_per_step_noise_and_eta_one_does_not(runtime: ModelRuntime) -> None:
    # an explicit initial noise fixes x_T; the seed then only drives the sampler's own noise
    x_T = tuple(image(runtime, "ddpm-emoji-32", seed=1).latents[0].ravel().tolist())

    def run(seed: int, eta: float) -> np.ndarray:
        return image(runtime, "ddpm-emoji-32", seed=seed, eta=eta, latent=x_T, steps=3).pixels

    np.testing.assert_array_equal(run(1, 0.0), run(2, 0.0))  # deterministic: a latent code
    assert differ(run(1, 1.0), run(2, 1.0))  # stochastic: the seed's noise enters
    assert differ(run(1, 0.0), run(1, 1.0))
    assert differ(run(1, 0.5), run(1, 1.0))  # not only 0 against the rest


def steps_run(runtime: ModelRuntime, model_id: str, **settings) -> tuple[int, ImageResult]:
    """(how many sampler steps reported progress, the result)."""
    job = runtime.image_job(runtime.default_request(model_id, **settings))
    steps = 0
    while True:
        try:
            progress = next(job)
        except StopIteration as done:
            return steps, done.value
        steps += progress.fraction > 0


def test_steps_set_how_many_steps_the_diffusion_sampler_takes(runtime: ModelRuntime) -> None:
    two, first = steps_run(runtime, "ddpm-emoji-32", seed=3, steps=2)
    five, second = steps_run(runtime, "ddpm-emoji-32", seed=3, steps=5)
    assert (two, five) == (2, 5)
    assert differ(first.pixels, second.pixels)
    assert second.request.steps == 5


def first_steps(runtime: ModelRuntime, count: int, **settings) -> list:
    """The progress of a diffusion job's first `count` steps; the job is then stopped."""
    job = runtime.image_job(runtime.default_request("ddpm-emoji-32", seed=8, **settings))
    seen = []
    for progress in job:
        if progress.step is not None:
            seen.append(progress)
        if len(seen) == count:
            job.close()
            break
    return seen


def test_the_sampler_choice_picks_the_algorithm(runtime: ModelRuntime) -> None:
    ddpm = first_steps(runtime, 2, sampler="ddpm")
    ddim = first_steps(runtime, 2, sampler="ddim", steps=50)
    default = first_steps(runtime, 1)
    assert ddpm[0].fraction == pytest.approx(1 / 1000)  # DDPM walks all 1000 training steps
    assert ddim[0].fraction == pytest.approx(1 / 50)
    assert default[0].fraction == pytest.approx(1 / 50)  # the manifest's DDIM, 50 steps
    # both start from the same x_T and predict the same x_0 at t = 999; then they part
    np.testing.assert_array_equal(ddpm[0].preview, ddim[0].preview)
    assert differ(ddpm[1].preview, ddim[1].preview)


# --- PixelCNN and RBM -------------------------------------------------------------------------


def test_pixelcnn_temperature_cold_is_seed_independent(runtime: ModelRuntime) -> None:
    known = np.zeros((32, 32))  # palette 0 (white) kept; the last row drawn
    known[-1] = -1
    latent = tuple(known.ravel())

    def complete(seed: int, temperature: float) -> ImageResult:
        return image(
            runtime, "pixelcnn-emoji-32", seed=seed, temperature=temperature, latent=latent
        )

    cold = [complete(seed, 0.01) for seed in (1, 2)]
    warm = [complete(seed, 1.0) for seed in (1, 2)]
    np.testing.assert_array_equal(cold[0].pixels, cold[1].pixels)  # ~ the likeliest colours
    assert differ(warm[0].pixels, warm[1].pixels)
    assert differ(cold[0].pixels, warm[0].pixels)
    for result in (*cold, *warm):  # the known pixels are kept, the free ones drawn
        assert (result.pixels[:31] == 255).all()


def binary_entropy(pixels: np.ndarray) -> float:
    p = np.clip(pixels[..., 0] / 255.0, 1e-6, 1 - 1e-6)
    return float(-(p * np.log(p) + (1 - p) * np.log(1 - p)).mean())


def test_rbm_steps_and_temperature(runtime: ModelRuntime) -> None:
    one, short = steps_run(runtime, "rbm-glyphs-28", seed=1, steps=1)
    six, longer = steps_run(runtime, "rbm-glyphs-28", seed=1, steps=6)
    assert (one, six) == (1, 6) and differ(short.pixels, longer.pixels)
    sharp = image(runtime, "rbm-glyphs-28", seed=1, steps=20, grid=(1, 4), temperature=0.3)
    plain = image(runtime, "rbm-glyphs-28", seed=1, steps=20, grid=(1, 4), temperature=1.0)
    # temperature < 1 sharpens each visible draw: the glyphs' grey levels are surer
    assert binary_entropy(sharp.pixels) < 0.8 * binary_entropy(plain.pixels)
    other = image(runtime, "rbm-glyphs-28", seed=2, steps=20, grid=(1, 4), temperature=1.0)
    assert differ(plain.pixels, other.pixels)


# --- text ---------------------------------------------------------------------------------------


def text(runtime: ModelRuntime, **settings) -> str:
    settings = {"max_tokens": 24, "seed": 1, **settings}
    request = runtime.default_text_request("gpt-kjv", **settings)
    return run_to_completion(runtime.text_job(request)).completion


def test_temperature_zero_is_greedy_whatever_the_seed(runtime: ModelRuntime) -> None:
    greedy = text(runtime, temperature=0.0, seed=1)
    assert text(runtime, temperature=0.0, seed=2) == greedy
    warm = [text(runtime, temperature=1.0, seed=seed) for seed in (1, 2)]
    assert warm[0] != warm[1] and greedy not in warm


def common_prefix(a: str, b: str) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def test_lower_temperature_stays_closer_to_the_likeliest_text(runtime: ModelRuntime) -> None:
    greedy = text(runtime, temperature=0.0)

    def agreement(temperature: float) -> int:  # characters shared with greedy, over 4 seeds
        return sum(
            common_prefix(text(runtime, temperature=temperature, top_p=1.0, seed=s), greedy)
            for s in (1, 2, 3, 4)
        )

    assert agreement(0.2) > agreement(1.5) + 20


def test_top_k_one_and_a_tiny_top_p_are_greedy(runtime: ModelRuntime) -> None:
    greedy = text(runtime, temperature=0.0)
    for seed in (1, 2):
        assert text(runtime, temperature=1.0, top_k=1, top_p=1.0, seed=seed) == greedy
        assert text(runtime, temperature=1.0, top_k=0, top_p=0.01, seed=seed) == greedy
    assert text(runtime, temperature=1.0, top_k=0, top_p=1.0) != greedy
    assert text(runtime, temperature=1.0, top_k=3, top_p=1.0) != greedy
    assert text(runtime, temperature=1.0, top_k=0, top_p=0.9) != greedy


def distinct_four_grams(completion: str) -> float:
    grams = [completion[i : i + 4] for i in range(len(completion) - 3)]
    return len(set(grams)) / len(grams)


def test_repetition_penalty_breaks_loops(runtime: ModelRuntime) -> None:
    plain = text(runtime, temperature=0.0, max_tokens=80, repetition_penalty=1.0)
    penalised = text(runtime, temperature=0.0, max_tokens=80, repetition_penalty=1.6)
    assert penalised != plain
    # greedy decoding loops over the same phrase; the penalty makes repeats less likely
    assert distinct_four_grams(penalised) > distinct_four_grams(plain) + 0.1


def test_text_seed_prompt_and_length(runtime: ModelRuntime) -> None:
    first = text(runtime, temperature=0.8, seed=11)
    assert text(runtime, temperature=0.8, seed=11) == first
    assert text(runtime, temperature=0.8, seed=12) != first
    request = runtime.default_text_request("gpt-kjv", prompt="Jesus wept", max_tokens=17)
    result = run_to_completion(runtime.text_job(request))
    assert result.text.startswith("Jesus wept") and result.tokens == 17
    assert len(result.completion.encode("utf-8")) == 17  # byte tokens (ASCII text)
    assert text(runtime, prompt="Jesus wept", temperature=0.0) != text(runtime, temperature=0.0)


# --- audio ---------------------------------------------------------------------------------------


def note(runtime: ModelRuntime, **settings) -> AudioResult:
    settings = {"seconds": 0.05, "seed": 1, **settings}
    return run_to_completion(runtime.audio_job(AudioRequest(WAVENET, **settings)))


def test_pitch_moves_the_heard_fundamental(runtime: ModelRuntime) -> None:
    for pitch in (57, 69):
        audio = note(runtime, pitch=pitch, seconds=0.5).audio
        f0 = harmonic_f0(audio[2400:8000])  # the steady part, after the attack
        assert f0 is not None
        # README: 71 of 75 test notes within 50 cents of the request
        assert abs(cents(f0, pitch)) < 50, (pitch, f0)


def test_instruments_set_the_timbre_vector(runtime: ModelRuntime) -> None:
    parameters = runtime.catalog.get(WAVENET).parameters
    table = np.asarray(parameters["timbre_table"], np.float32)
    names = list(parameters["instruments"])
    flute = note(runtime, mix=(("Flute", 1.0),))
    violin = note(runtime, mix=(("Violin", 1.0),))
    np.testing.assert_allclose(flute.provenance.latent, table[names.index("Flute")], atol=1e-5)
    np.testing.assert_allclose(violin.provenance.latent, table[names.index("Violin")], atol=1e-5)
    default = note(runtime)  # no instrument: the model's first
    np.testing.assert_allclose(default.provenance.latent, table[0], atol=1e-5)
    blend = note(runtime, mix=(("Flute", 3.0), ("Violin", 1.0)))  # weights are normalised
    expected = 0.75 * table[names.index("Flute")] + 0.25 * table[names.index("Violin")]
    np.testing.assert_allclose(blend.provenance.latent, expected, atol=1e-5)
    assert differ(flute.audio, violin.audio) and differ(flute.audio, blend.audio)


def test_an_explicit_timbre_replaces_the_mix(runtime: ModelRuntime) -> None:
    table = np.asarray(runtime.catalog.get(WAVENET).parameters["timbre_table"], np.float32)
    middle = tuple(float(v) for v in table[:2].mean(0))
    played = note(runtime, timbre=middle, mix=(("Flute", 1.0),))
    np.testing.assert_allclose(played.provenance.latent, middle, atol=1e-6)
    with pytest.raises(RequestError, match=f"timbre vectors of {table.shape[1]} values, not 3"):
        note(runtime, timbre=(0.0, 0.0, 0.0))  # the request cannot know the model's length


def test_timbre_directions_move_the_timbre_linearly(runtime: ModelRuntime) -> None:
    base = np.asarray(note(runtime).provenance.latent)
    moves = []
    for name in ("PC1", "PC2"):
        one = np.asarray(note(runtime, offsets=((name, 1.0),)).provenance.latent) - base
        two = np.asarray(note(runtime, offsets=((name, 2.0),)).provenance.latent) - base
        assert np.linalg.norm(one) > 0.01, name
        np.testing.assert_allclose(two, 2 * one, atol=1e-5)
        moves.append(one / np.linalg.norm(one))
    assert abs(float(moves[0] @ moves[1])) < 0.05


def high_frequency_ratio(audio: np.ndarray) -> float:
    """RMS of the first difference over the RMS: grows with hiss."""
    return float(np.sqrt(np.mean(np.diff(audio) ** 2)) / np.sqrt(np.mean(audio**2)))


def test_audio_temperature_adds_hiss(runtime: ModelRuntime) -> None:
    plain = note(runtime, pitch=69, seconds=0.25, temperature=1.0).audio[1600:]
    hot = note(runtime, pitch=69, seconds=0.25, temperature=1.5).audio[1600:]
    # softmax temperature: more of the unlikely mu-law classes, so more broadband noise
    assert high_frequency_ratio(hot) > 1.5 * high_frequency_ratio(plain)


def test_release_at_lets_the_note_die_away(runtime: ModelRuntime) -> None:
    def tail_rms(release_at: float) -> float:
        flute = (("Flute", 1.0),)  # a short release (a violin's rings on for 0.3 s)
        audio = note(runtime, seconds=0.3, release_at=release_at, mix=flute).audio
        return float(np.sqrt(np.mean(audio[-1600:] ** 2)))  # the last 0.1 s

    early, late = tail_rms(0.05), tail_rms(0.25)
    assert early < 0.1 * late


def test_audio_seed(runtime: ModelRuntime) -> None:
    first = note(runtime, seed=1).audio
    np.testing.assert_array_equal(note(runtime, seed=1).audio, first)
    assert differ(note(runtime, seed=2).audio, first)


# --- style --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from PIL import Image

    folder = tmp_path_factory.mktemp("knob-pictures")
    y, x = np.mgrid[0:48, 0:64]
    flat = np.full_like(x, 120)
    arrays = {
        "photo": np.stack([x * 3, y * 4, flat], -1),
        "stripes": np.stack([(np.sin(x / 2.0) > 0) * 220, flat // 3, (y % 8 < 4) * 200], -1),
        "dots": np.stack([((x % 6 < 3) & (y % 6 < 3)) * 250, (x * 4) % 256, flat + 80], -1),
    }
    paths = {}
    for name, array in arrays.items():
        paths[name] = folder / f"{name}.png"
        Image.fromarray(array.astype(np.uint8)).save(paths[name])
    return paths


def styled(runtime: ModelRuntime, pictures: dict[str, Path], style: str = "stripes", **settings):
    content, painting = pictures["photo"], pictures[style]
    blend = tuple(
        (str(pictures[name]), file_sha256(pictures[name]), weight)
        for name, weight in settings.pop("blend", ())
    )
    request = StyleRequest(
        str(content),
        file_sha256(content),
        str(painting),
        file_sha256(painting),
        **{"model_id": "adain-style", "method": "fast", "size": 64, "blend": blend, **settings},
    )
    return run_to_completion(runtime.style_job(request)).pixels.astype(np.float64)


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_style_strength_blends_from_the_photo_to_the_style(runtime, pictures) -> None:
    from PIL import Image

    photo = styled(runtime, pictures, strength=0.0)
    # strength 0 decodes the photo's own features: the style picture plays no part
    np.testing.assert_array_equal(styled(runtime, pictures, "dots", strength=0.0), photo)
    distances = [
        mean_distance(styled(runtime, pictures, strength=s), photo) for s in (0.25, 0.5, 1.0)
    ]
    assert 0 < distances[0] < distances[1] < distances[2]
    content = np.asarray(Image.open(pictures["photo"]), np.float64)
    full = styled(runtime, pictures, strength=1.0)
    assert mean_distance(full, content) > mean_distance(photo, content) + 10


def chroma(pixels: np.ndarray) -> np.ndarray:
    """BT.601 Cb and Cr."""
    to_cbcr = np.array([[-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    return pixels @ to_cbcr.T


def test_keep_colors_keeps_the_photos_chroma(runtime, pictures) -> None:
    from PIL import Image

    photo = np.asarray(Image.open(pictures["photo"]), np.float64)
    free = styled(runtime, pictures, strength=1.0)
    kept = styled(runtime, pictures, strength=1.0, keep_colors=True)
    matched = styled(runtime, pictures, strength=1.0, keep_colors=True, color_method="match")
    off = mean_distance(chroma(free), chroma(photo))
    assert mean_distance(chroma(kept), chroma(photo)) < 0.25 * off
    assert differ(matched, kept) and differ(matched, free)
    assert mean_distance(chroma(matched), chroma(photo)) < off


def test_a_blended_style_weighs_in_by_its_weight(runtime, pictures) -> None:
    alone = styled(runtime, pictures, strength=1.0)
    distances = [
        mean_distance(styled(runtime, pictures, strength=1.0, blend=(("dots", w),)), alone)
        for w in (0.2, 0.5, 0.9)
    ]
    assert 0 < distances[0] < distances[1] < distances[2]


@pytest.mark.slow
def test_optimisation_strength_weighs_the_style(runtime, pictures) -> None:
    from PIL import Image

    def optimised(strength: float) -> np.ndarray:
        content, painting = pictures["photo"], pictures["stripes"]
        request = StyleRequest(
            str(content), file_sha256(content), str(painting), file_sha256(painting),
            size=32, iterations=3, strength=strength,
        )  # fmt: skip
        return run_to_completion(runtime.style_job(request)).pixels.astype(np.float64)

    photo = np.asarray(Image.open(pictures["photo"]).resize((32, 24)), np.float64)
    distances = [mean_distance(optimised(s), photo) for s in (0.0, 1.0, 10.0)]
    assert distances[0] < distances[1] < distances[2]

"""Every request survives to_dict -> JSON -> from_dict with every field off its default;
invalid values give the project's typed error naming the field; provenance survives its JSON
and every container it is embedded in (PNG, WebP, JPEG, text front matter, WAV, FLAC)."""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.audio_request import AudioRequest
from studio.core.errors import RequestError
from studio.core.priors import MAX_SEED
from studio.core.provenance import Provenance
from studio.core.requests import ImageRequest
from studio.core.style_request import StyleRequest
from studio.core.text_request import TextRequest

# few examples, so the file runs in seconds; no timing checks on a loaded 2-core machine
FEW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAN, INF = math.nan, math.inf

names = st.text(min_size=1, max_size=12)
hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
seeds = st.integers(1, MAX_SEED)
backends = st.sampled_from(("onnx", "torch"))
devices = st.sampled_from(("cpu", "gpu"))


def finite(low: float, high: float, *, open_low: bool = False, default: float | None = None):
    """Finite floats in [low, high] (or (low, high]), never the field's default."""
    values = st.floats(low, high, exclude_min=open_low, allow_nan=False, allow_infinity=False)
    return values.filter(lambda v: v != default) if default is not None else values


nonzero = finite(-1e6, 1e6).filter(lambda v: v != 0)
offsets = st.dictionaries(names, nonzero, min_size=1, max_size=4).map(lambda d: tuple(d.items()))
vectors = st.lists(finite(-1e3, 1e3), min_size=1, max_size=16).map(tuple)


@st.composite
def grids(draw) -> tuple[int, int]:
    rows = draw(st.integers(1, 16))
    cols = draw(st.integers(2 if rows == 1 else 1, 256 // rows))
    return rows, cols


image_requests = st.builds(
    ImageRequest,
    model_id=names,
    seed=seeds,
    offsets=offsets,
    truncation=finite(0, 10, open_low=True),
    temperature=finite(0, 10, open_low=True, default=1.0),
    latent=vectors,
    sampler=st.sampled_from(("ddim", "ddpm")),
    steps=st.integers(1, 10_000),
    eta=finite(0, 1, open_low=True),
    grid=grids(),
    category=names,
    psi=finite(0, 2, default=1.0),
    truncation_cutoff=st.integers(0, 64),
    mix_seed=seeds,
    mix_layers=st.lists(st.integers(0, 63), min_size=1, max_size=6, unique=True).map(
        lambda v: tuple(sorted(v))
    ),
    noise=finite(0, 4, default=1.0),
    fixed_noise=st.just(False),
    backend=backends,
    device=devices,
)
text_requests = st.builds(
    TextRequest,
    model_id=names,
    prompt=st.text(min_size=1, max_size=200),
    seed=seeds,
    max_tokens=st.integers(1, 8192).filter(lambda v: v != 200),
    temperature=finite(0, 5, default=0.8),
    top_k=st.integers(1, 10**6),
    top_p=finite(0, 1, open_low=True, default=1.0),
    repetition_penalty=finite(1, 5, open_low=True),
    use_cache=st.just(False),
    backend=backends,
    device=devices,
)
audio_requests = st.builds(
    AudioRequest,
    model_id=names,
    pitch=st.integers(0, 127).filter(lambda v: v != 60),
    mix=st.dictionaries(names, finite(0, 1e3, open_low=True), min_size=1, max_size=4).map(
        lambda d: tuple(d.items())
    ),
    offsets=offsets,
    timbre=vectors,
    seconds=finite(0.05, 8, default=1.0),
    release_at=finite(0, 8),
    temperature=finite(0.05, 2, default=1.0),
    seed=seeds,
    backend=backends,
    device=devices,
)
blends = st.lists(
    st.tuples(names, hex64, finite(0, 0.3, open_low=True)), min_size=1, max_size=3
).map(tuple)  # weights above 0, summing to at most 1
style_requests = st.builds(
    StyleRequest,
    content=names,
    content_sha256=hex64,
    style=names,
    style_sha256=hex64,
    model_id=names.filter(lambda v: v != "vgg16-features"),
    method=st.just("fast"),
    strength=finite(0, 1, default=1.0),
    keep_colors=st.just(True),
    color_method=st.just("match"),
    blend=blends,
    size=st.integers(32, 2048).filter(lambda v: v != 512),
    iterations=st.integers(1, 5000).filter(lambda v: v != 150),
    seed=seeds,
    backend=backends,
    device=devices,
)
STRATEGIES = {
    ImageRequest: image_requests,
    TextRequest: text_requests,
    AudioRequest: audio_requests,
    StyleRequest: style_requests,
}
REQUIRED = {  # the smallest dict each from_dict takes
    ImageRequest: {"model_id": "m"},
    TextRequest: {"model_id": "m"},
    AudioRequest: {"model_id": "m"},
    StyleRequest: {"content": "c", "content_sha256": "a", "style": "s", "style_sha256": "b"},
}
request_types = pytest.mark.parametrize("cls", list(STRATEGIES), ids=lambda c: c.__name__)


def through_json(request: Any) -> Any:
    text = json.dumps(request.to_dict(), allow_nan=False)  # plain, standard JSON
    return type(request).from_dict(json.loads(text))


def assert_off_defaults(request: Any) -> None:
    """The strategy really moved every field with a default (else a dropped field passes)."""
    for field in dataclasses.fields(request):
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            continue
        assert getattr(request, field.name) != default, field.name


@request_types
@FEW
@given(data=st.data())
def test_any_request_survives_json_with_every_field_off_its_default(cls, data) -> None:
    request = data.draw(STRATEGIES[cls])
    assert_off_defaults(request)
    back = through_json(request)
    assert back == request
    assert type(back) is cls
    assert hash(back) == hash(request)  # still a frozen, hashable value: the engine keys on it


@request_types
def test_a_dict_with_only_the_required_keys_loads_the_defaults(cls) -> None:
    assert cls.from_dict(REQUIRED[cls]) == cls(**REQUIRED[cls])


@request_types
def test_a_missing_required_key_is_named(cls) -> None:
    for key in REQUIRED[cls]:
        data = {k: v for k, v in REQUIRED[cls].items() if k != key}
        with pytest.raises(RequestError, match=key):
            cls.from_dict(data)


# --- invalid values --------------------------------------------------------------------------


def below(limit: float, *, inclusive: bool = False):
    return st.floats(max_value=limit, exclude_max=not inclusive, allow_nan=False)


def above(limit: float, *, inclusive: bool = False):
    return st.floats(min_value=limit, exclude_min=not inclusive, allow_nan=False)


def out_of(low: float, high: float, *, low_ok: bool = True):
    """Numbers outside [low, high] (outside (low, high] when not low_ok), and NaN."""
    return st.one_of(below(low, inclusive=not low_ok), above(high), st.just(NAN))


def ints_outside(low: int, high: int):
    return st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1))


# field -> (invalid values, words the error must contain so the user finds the field)
INVALID: dict[type, dict[str, tuple[Any, str]]] = {
    ImageRequest: {
        "seed": (ints_outside(0, MAX_SEED), "seed"),
        "truncation": (out_of(0, 10, low_ok=False), "truncation"),
        "temperature": (out_of(0, 10, low_ok=False), "temperature"),
        "steps": (ints_outside(1, 10_000), "steps"),
        "eta": (out_of(0, 1), "eta"),
        "grid": (st.sampled_from([[0, 1], [1, 0], [-2, 3], [17, 16]]), "grid"),
        "latent": (st.sampled_from([[], [NAN], [1.0, INF], [-INF]]), "latent"),
        "offsets": (st.sampled_from([{"PC1": NAN}, {"PC2": INF}]), "direction"),
        "backend": (st.sampled_from(["cuda", "", "ONNX"]), "backend"),
        "device": (st.sampled_from(["tpu", "CPU"]), "device"),
    },
    TextRequest: {
        "seed": (ints_outside(0, MAX_SEED), "seed"),
        "prompt": (st.just("x" * 100_001), "prompt"),
        "max_tokens": (ints_outside(1, 8192), "max tokens"),
        "temperature": (out_of(0, 5), "temperature"),
        "top_k": (st.integers(max_value=-1), "top k"),
        "top_p": (out_of(0, 1, low_ok=False), "top p"),
        "repetition_penalty": (out_of(1, 5), "repetition penalty"),
        "backend": (st.just("gpu"), "backend"),
        "device": (st.just("onnx"), "device"),
    },
    AudioRequest: {
        "seed": (ints_outside(0, MAX_SEED), "seed"),
        "pitch": (ints_outside(0, 127), "pitch"),
        "mix": (st.sampled_from([{"Flute": -0.5}, {"Flute": NAN}, {"A": 1, "B": -INF}]), "weight"),
        "offsets": (st.sampled_from([{"PC1": NAN}, {"PC3": -INF}]), "direction"),
        "seconds": (out_of(0.05, 8), "seconds"),
        "release_at": (out_of(0, 8), "release_at"),
        "temperature": (out_of(0.05, 2), "temperature"),
        "backend": (st.just("tensorflow"), "backend"),
        "device": (st.just("npu"), "device"),
    },
    StyleRequest: {
        "seed": (ints_outside(0, MAX_SEED), "seed"),
        "strength": (out_of(0, 1), "strength"),  # the fast method's range
        "method": (st.sampled_from(["slow", "", "FAST"]), "method"),
        "color_method": (st.sampled_from(["hue", "Match"]), "color_method"),
        "blend": (
            st.sampled_from([[["b", "ab", 0.0]], [["b", "ab", 1.5]], [["b", "ab", 0.6]] * 2]),
            "blend",
        ),
        "size": (ints_outside(32, 2048), "size"),
        "iterations": (ints_outside(1, 5000), "iterations"),
        "backend": (st.just("auto-onnx"), "backend"),
        "device": (st.just("metal"), "device"),
    },
}


@request_types
@FEW
@given(data=st.data())
def test_an_invalid_value_gives_a_request_error_naming_the_field(cls, data) -> None:
    valid = data.draw(STRATEGIES[cls]).to_dict()
    field = data.draw(st.sampled_from(sorted(INVALID[cls])), label="field")
    values, words = INVALID[cls][field]
    valid[field] = data.draw(values, label="value")
    with pytest.raises(RequestError) as caught:
        cls.from_dict(valid)
    assert words in str(caught.value)


# Wrong JSON types: only the typed error may escape, and it names the field. Nothing is
# converted: an integer field takes no float or boolean, a flag no text, a text field no number.
WRONG_TYPES = [
    (ImageRequest, "seed", "seven"),
    (ImageRequest, "seed", None),
    (ImageRequest, "temperature", "hot"),
    (ImageRequest, "temperature", None),
    (ImageRequest, "temperature", [0.5]),
    (ImageRequest, "truncation", {"max": 1}),
    (ImageRequest, "steps", "many"),
    (ImageRequest, "eta", [1]),
    (ImageRequest, "grid", None),
    (ImageRequest, "grid", 4),
    (ImageRequest, "grid", "ab"),
    (ImageRequest, "offsets", [1, 2]),
    (ImageRequest, "offsets", {"PC1": "far"}),
    (ImageRequest, "latent", 5),
    (ImageRequest, "latent", ["a"]),
    (TextRequest, "seed", [1]),
    (TextRequest, "max_tokens", "lots"),
    (TextRequest, "temperature", None),
    (TextRequest, "top_k", {"k": 1}),
    (TextRequest, "top_p", "most"),
    (TextRequest, "repetition_penalty", [2.0]),
    (AudioRequest, "pitch", "C4"),
    (AudioRequest, "pitch", None),
    (AudioRequest, "mix", "Flute"),
    (AudioRequest, "mix", [1, 2]),
    (AudioRequest, "mix", {"Flute": "loud"}),
    (AudioRequest, "offsets", 3),
    (AudioRequest, "timbre", 5),
    (AudioRequest, "seconds", "long"),
    (AudioRequest, "release_at", [0.5]),
    (AudioRequest, "temperature", {}),
    (StyleRequest, "seed", "1"),
    (StyleRequest, "strength", "max"),
    (StyleRequest, "strength", None),
    (StyleRequest, "size", "big"),
    (StyleRequest, "size", [512]),
    (StyleRequest, "iterations", None),
    (StyleRequest, "blend", [1]),
    (StyleRequest, "blend", [["b.png", "ab"]]),
    # values a loose reader would convert into something the file does not say
    (ImageRequest, "seed", 1.5),
    (ImageRequest, "seed", True),
    (ImageRequest, "steps", 2.0),
    (ImageRequest, "model_id", 5),
    (ImageRequest, "sampler", 1),
    (ImageRequest, "grid", [1.0, 2]),
    (ImageRequest, "grid", [1, 2, 3]),
    (ImageRequest, "latent", [True]),
    (ImageRequest, "latent", "0.5"),
    (ImageRequest, "offsets", {"PC1": True}),
    (ImageRequest, "backend", None),
    (ImageRequest, "mix_layers", [1.0]),
    (ImageRequest, "fixed_noise", "yes"),
    (ImageRequest, "psi", "1"),
    (TextRequest, "use_cache", "false"),
    (TextRequest, "use_cache", 0),
    (TextRequest, "max_tokens", 3.0),
    (TextRequest, "top_k", False),
    (TextRequest, "prompt", 5),
    (AudioRequest, "pitch", True),
    (AudioRequest, "pitch", 60.5),
    (AudioRequest, "seed", 2.0),
    (AudioRequest, "mix", {"Flute": True}),
    (AudioRequest, "timbre", ["a"]),
    (AudioRequest, "timbre", "0.5"),
    (AudioRequest, "device", 0),
    (StyleRequest, "keep_colors", "no"),
    (StyleRequest, "keep_colors", 1),
    (StyleRequest, "size", 512.0),
    (StyleRequest, "iterations", True),
    (StyleRequest, "content", None),
    (StyleRequest, "blend", "b.png"),
    (StyleRequest, "blend", [["b.png", "ab", "0.5"]]),
    (StyleRequest, "blend", [["b.png", 7, 0.5]]),
]


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    WRONG_TYPES,
    ids=[f"{c.__name__}.{f}={v!r}" for c, f, v in WRONG_TYPES],
)
def test_a_wrong_type_gives_a_request_error_naming_the_field(cls, field: str, value: Any) -> None:
    data = {**cls(**REQUIRED[cls]).to_dict(), field: value}
    with pytest.raises(RequestError, match=field):
        cls.from_dict(data)


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (ImageRequest, "temperature", 2),  # a float field takes a JSON integer
        (ImageRequest, "offsets", {"PC1": 3}),
        (ImageRequest, "latent", [0, 1]),
        (AudioRequest, "mix", {"Flute": 2}),
        (TextRequest, "top_p", 1),
        (StyleRequest, "blend", [["b.png", "ab", 1]]),
    ],
)
def test_a_whole_number_is_a_valid_float(cls, field: str, value: Any) -> None:
    request = cls.from_dict({**cls(**REQUIRED[cls]).to_dict(), field: value})
    assert through_json(request) == request


@pytest.mark.parametrize(
    ("cls", "settings"),
    [
        (ImageRequest, {"seed": True}),
        (ImageRequest, {"seed": -1}),
        (ImageRequest, {"temperature": 0.0}),
        (ImageRequest, {"eta": 1.5}),
        (ImageRequest, {"grid": (16, 17)}),
        (TextRequest, {"temperature": 5.5}),
        (TextRequest, {"top_p": 0.0}),
        (AudioRequest, {"pitch": True}),
        (AudioRequest, {"pitch": 60.0}),
        (AudioRequest, {"seconds": 0.01}),
        (StyleRequest, {"method": "optimize", "strength": 101.0}),
        (StyleRequest, {"method": "fast", "strength": 1.01}),
    ],
)
def test_constructing_an_invalid_request_raises_request_error(cls, settings) -> None:
    with pytest.raises(RequestError):
        cls(**REQUIRED[cls], **settings)


def test_the_optimize_method_takes_strengths_up_to_100() -> None:
    request = StyleRequest(**REQUIRED[StyleRequest], method="optimize", strength=100.0)
    assert through_json(request) == request


# --- repeated names, timbres, non-objects --------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        AudioRequest("m", mix=(("Flute", 0.5), ("Violin", 0.5), ("Flute", 0.5))),
        AudioRequest("m", offsets=(("PC1", 1.0), ("PC1", 1.0))),
        ImageRequest("m", offsets=(("PC1", 1.0), ("PC2", 0.5), ("PC1", 1.0))),
    ],
    ids=["mix", "audio-offsets", "image-offsets"],
)
def test_a_repeated_name_survives_json(request_: Any) -> None:
    # `studio generate --instrument Flute --instrument Violin --instrument Flute` renders
    # Flute at 2/3: its export's settings must say so, or `--from` plays another timbre
    assert through_json(request_) == request_


def test_a_repeated_name_weighs_the_sum_of_its_values() -> None:
    twice = AudioRequest("m", mix=(("Flute", 0.5), ("Violin", 0.5), ("Flute", 0.5)))
    assert twice == AudioRequest("m", mix=(("Flute", 1.0), ("Violin", 0.5)))
    moved = ImageRequest("m", offsets=(("PC1", 1.0), ("PC1", 1.5), ("PC2", 2.0), ("PC2", -2.0)))
    assert moved.offsets == (("PC1", 2.5),)  # PC2 cancels out: no move
    with pytest.raises(RequestError, match="weight"):  # each weight is checked, not the sum
        AudioRequest("m", mix=(("Flute", 1.0), ("Flute", -0.5)))


@pytest.mark.parametrize("timbre", ["ab", [NAN, 0.0], [INF], [], [True]], ids=repr)
def test_an_invalid_timbre_gives_a_request_error_naming_it(timbre: Any) -> None:
    with pytest.raises(RequestError, match="timbre"):
        AudioRequest.from_dict({"model_id": "m", "timbre": timbre})
    with pytest.raises(RequestError, match="timbre"):
        AudioRequest("m", timbre=timbre)


def test_a_timbre_given_as_a_list_is_kept_as_a_tuple() -> None:
    request = AudioRequest("m", timbre=[0.5, 1])  # type: ignore[arg-type]
    assert request.timbre == (0.5, 1.0)
    assert hash(request) == hash(AudioRequest("m", timbre=(0.5, 1.0)))
    assert through_json(request) == request
    assert AudioRequest.from_dict({"model_id": "m", "timbre": None}).timbre is None  # the mix's


NOT_AN_OBJECT = [[], "request", None, 3]


@pytest.mark.parametrize(
    ("cls", "data"),
    [(cls, data) for cls in STRATEGIES for data in NOT_AN_OBJECT],
    ids=[f"{cls.__name__}-{data!r}" for cls in STRATEGIES for data in NOT_AN_OBJECT],
)
def test_a_request_that_is_not_an_object_gives_a_request_error(cls, data: Any) -> None:
    with pytest.raises(RequestError, match="JSON object"):
        cls.from_dict(data)


# --- provenance ------------------------------------------------------------------------------

requests = st.one_of(image_requests, text_requests, audio_requests, style_requests)
provenances = st.builds(
    Provenance,
    request=requests,
    model_sha256=hex64,
    family=names,
    backend=backends,
    provider=names,
    app_version=names,
    # exports keep 6 decimals of the latent, for inspection only
    latent=st.lists(finite(-1e3, 1e3).map(lambda v: round(v, 6)), min_size=1, max_size=8).map(
        tuple
    ),
    upscale=st.integers(2, 64),
    preview_step=st.integers(1, 1000),
)


def assert_provenance_off_defaults(provenance: Provenance) -> None:
    assert_off_defaults(provenance)
    assert_off_defaults(provenance.request)


@FEW
@given(provenance=provenances)
def test_provenance_survives_its_json(provenance: Provenance) -> None:
    assert_provenance_off_defaults(provenance)
    assert Provenance.from_json(provenance.to_json()) == provenance
    plain = json.loads(json.dumps(provenance.to_dict(), allow_nan=False))
    assert Provenance.from_dict(plain) == provenance


@settings(FEW, max_examples=8)
@given(provenance=provenances)
def test_provenance_survives_every_container(provenance: Provenance) -> None:
    from studio.media.audio import read_audio, write_audio
    from studio.media.image import read_image, write_image
    from studio.media.text import read_text, write_text

    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3
    audio = np.linspace(-0.5, 0.5, 400, dtype=np.float32)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for suffix in (".png", ".webp", ".jpg"):
            write_image(root / f"a{suffix}", pixels, provenance)
            assert read_image(root / f"a{suffix}")[1] == provenance, suffix
        assert np.array_equal(read_image(root / "a.png")[0], pixels)
        write_text(root / "a.md", "And it came to pass\n---\n", provenance)
        assert read_text(root / "a.md") == ("And it came to pass\n---\n", provenance)
        for suffix in (".wav", ".flac"):
            write_audio(root / f"a{suffix}", audio, 16_000, provenance)
            assert read_audio(root / f"a{suffix}")[2] == provenance, suffix


PROVENANCE = {
    "request": {"model_id": "m"},
    "model_sha256": "ab",
    "family": "gan",
    "backend": "onnx",
    "provider": "cpu",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request", []),
        ("request", "m"),
        ("request", None),
        ("kind", 3),
        ("model_sha256", 5),
        ("upscale", 2.0),
        ("upscale", True),
        ("preview_step", "3"),
        ("latent", ["a"]),
        ("latent", 0.5),
    ],
)
def test_a_malformed_provenance_gives_a_media_error_naming_the_field(
    field: str, value: Any
) -> None:
    from studio.core.errors import MediaError

    with pytest.raises(MediaError, match=field):
        Provenance.from_dict({**PROVENANCE, field: value})


@pytest.mark.parametrize("data", [[], "provenance", None, 3])
def test_a_provenance_that_is_not_an_object_gives_a_media_error(data: Any) -> None:
    from studio.core.errors import MediaError

    with pytest.raises(MediaError, match="JSON object"):
        Provenance.from_dict(data)


def test_an_invalid_request_in_a_provenance_names_its_field() -> None:
    with pytest.raises(RequestError, match="seed"):
        Provenance.from_dict({**PROVENANCE, "request": {"model_id": "m", "seed": 1.5}})

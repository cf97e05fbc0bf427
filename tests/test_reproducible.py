"""A seed is the whole story: the same command in two fresh processes (with different
PYTHONHASHSEED, so a salted `hash()` anywhere shows) writes the same bytes, `--from` on an
export in a new process makes the same pixels / samples / text, and every bundled model still
makes its stored reference output (tests/data/reference_outputs.json).

The commands run in subprocesses with this interpreter and this tree (PYTHONPATH and cwd), so
they test the code under test, not an installed copy.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_FILE = ROOT / "tests" / "data" / "reference_outputs.json"
SLOW_REFERENCES = {"vgg16-features"}  # torch optimisation: imports torch, ~5 s on 2 cores

# `studio generate` arguments (without --out) per modality, every setting off its default
COMMANDS: dict[str, list[str]] = {
    "gan.png": shlex.split(
        "--model gan-emoji-32 --seed 11 --grid 2x2 --temperature 0.9 --truncation 1.5 "
        "--direction PC1=1.5 --direction PC2=-0.5 --upscale 2"
    ),
    "ddpm.png": shlex.split(
        "--model ddpm-emoji-32 --seed 5 --steps 4 --eta 0.6 --sampler ddim --temperature 0.95 "
        "--direction 'tone 1:0=1.5'"
    ),
    "gpt.md": shlex.split(
        "--model gpt-kjv --prompt 'In the beginning' --max-tokens 24 --seed 8 --temperature 0.9 "
        "--top-k 40 --top-p 0.9 --repetition-penalty 1.3"
    ),
    "wavenet.flac": shlex.split(
        "--model wavenet-notes-16k --pitch 62 --instrument Violin=0.3 --instrument Flute "
        "--direction PC1=0.5 --seconds 0.1 --release-at 0.06 --temperature 0.9 --seed 6"
    ),
}


def studio(*args: object, hash_seed: int, models: Path) -> str:
    """Run `python -m studio ARGS` in a fresh process on this tree; its stdout."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONHASHSEED": str(hash_seed),
        "LATENT_STUDIO_MODELS": str(models),  # no user models: the bundled ones only
    }
    result = subprocess.run(
        [sys.executable, "-m", "studio", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"studio {' '.join(map(str, args))}:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def no_user_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-user-models")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory, no_user_models: Path):
    """exports(case, hash_seed) -> the file `studio` wrote for COMMANDS[case] in a process
    with that PYTHONHASHSEED; made once per module."""
    folder = tmp_path_factory.mktemp("exports")
    made: dict[tuple[str, int], Path] = {}

    def export(case: str, hash_seed: int) -> Path:
        if (case, hash_seed) not in made:
            out = folder / f"{hash_seed}-{case}"
            studio(
                "generate",
                *COMMANDS[case],
                "--out",
                out,
                hash_seed=hash_seed,
                models=no_user_models,
            )
            made[case, hash_seed] = out
        return made[case, hash_seed]

    return export


def decoded(path: Path) -> Any:
    """What a file holds for a user: pixels, samples or text (without its settings)."""
    from studio.media.audio import read_audio
    from studio.media.image import read_image
    from studio.media.text import read_text

    if path.suffix == ".png":
        return read_image(path)[0]
    if path.suffix == ".flac":
        return read_audio(path)[0]
    return read_text(path)[0]


def test_subprocesses_run_the_tree_under_test(no_user_models: Path) -> None:
    out = studio("models", hash_seed=0, models=no_user_models)
    assert "gan-emoji-32" in out and "bundled" in out
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    where = subprocess.run(
        [sys.executable, "-c", "import studio; print(studio.__file__)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).resolve() == ROOT / "studio" / "__init__.py"


@pytest.mark.parametrize("case", sorted(COMMANDS))
def test_same_command_in_two_processes_writes_identical_bytes(case: str, exports) -> None:
    first, second = exports(case, 1), exports(case, 2)
    # no timestamp in any container (checked: PNG iTXt, FLAC Vorbis comment, text front matter)
    assert first.read_bytes() == second.read_bytes(), f"{case}: differs across processes"


def test_stylize_in_two_processes_writes_identical_bytes(
    tmp_path: Path, no_user_models: Path
) -> None:
    from PIL import Image

    y, x = np.mgrid[0:40, 0:48]
    photo = np.stack([x * 5, y * 6, np.full_like(x, 90)], -1).astype(np.uint8)
    dots = np.stack([((x % 6 < 3) & (y % 6 < 3)) * 250, (x * 4) % 256, y * 5], -1)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray(dots.astype(np.uint8)).save(tmp_path / "dots.png")
    outputs = []
    for hash_seed in (1, 2):
        out = tmp_path / f"styled-{hash_seed}.png"
        studio(
            *("stylize", "--content", tmp_path / "photo.png", "--style", tmp_path / "dots.png"),
            *("--method", "fast", "--size", "40", "--strength", "0.7", "--keep-colors"),
            *("--out", out),
            hash_seed=hash_seed,
            models=no_user_models,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("case", sorted(COMMANDS))
def test_from_an_export_in_a_new_process_makes_the_same_output(
    case: str, exports, tmp_path: Path, no_user_models: Path
) -> None:
    from studio.media.audio import read_audio
    from studio.media.image import read_image
    from studio.media.text import read_text

    original = exports(case, 1)
    again = tmp_path / f"again-{case}"
    studio("generate", "--from", original, "--out", again, hash_seed=3, models=no_user_models)
    before, after = decoded(original), decoded(again)
    if isinstance(before, str):
        assert after == before
    else:
        np.testing.assert_array_equal(after, before)
    read = {".png": lambda p: read_image(p)[1], ".flac": lambda p: read_audio(p)[2]}
    settings = read.get(original.suffix, lambda p: read_text(p)[1])
    assert settings(again) == settings(original)  # every setting carried over, none reset
    assert again.read_bytes() == original.read_bytes()


# --- stored references -------------------------------------------------------------------

# Where the fingerprint (CPU instruction sets, thread count, runtime versions) differs from
# the machine that wrote the references, ONNX Runtime and torch may pick other float kernels
# (AVX2 against AVX-512, another split across threads), which moves a decoded pixel by a level
# or two and a sample by a few 1e-4; there, compare the summary numbers within these
# tolerances instead of the sha256. Where it is the same, the sha256 must match exactly.
IMAGE_TOLERANCE = {"mean": 1.0, "std": 1.0, "thumb": 4.0}  # grey levels of 255
AUDIO_TOLERANCE = {"rms": 0.1, "envelope": 0.15}  # relative, + 0.002 absolute for silence


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "write_reference_outputs", ROOT / "scripts" / "write_reference_outputs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


REFERENCES: dict[str, Any] = json.loads(REFERENCE_FILE.read_text())


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script()


@pytest.fixture(scope="module")
def runtime():
    from studio.core.catalog import Catalog
    from studio.engine.runtime import ModelRuntime

    return ModelRuntime(Catalog())


def test_every_bundled_model_has_a_reference(script: ModuleType) -> None:
    from studio.core.catalog import Catalog

    assert sorted(REFERENCES["models"]) == script.bundled_model_ids(Catalog())
    for model_id, stored in REFERENCES["models"].items():
        assert stored["spec"] == script.SPECS[model_id], (
            f"{model_id}: SPECS changed since the references were written; run "
            "scripts/write_reference_outputs.py"
        )


def assert_close_summary(kind: str, got: dict[str, Any], stored: dict[str, Any]) -> None:
    if kind == "text":  # a draw flips only on a near-tie: the start must agree
        assert got == stored
    elif kind == "audio":
        assert got["samples"] == stored["samples"]
        for key, tolerance in AUDIO_TOLERANCE.items():
            np.testing.assert_allclose(got[key], stored[key], rtol=tolerance, atol=2e-3)
    else:
        assert got["shape"] == stored["shape"]
        for key, tolerance in IMAGE_TOLERANCE.items():
            np.testing.assert_allclose(got[key], stored[key], rtol=0, atol=tolerance)


@pytest.mark.parametrize(
    "model_id",
    [
        pytest.param(m, marks=pytest.mark.slow) if m in SLOW_REFERENCES else m
        for m in sorted(REFERENCES["models"])
    ],
)
def test_bundled_model_makes_its_reference_output(
    model_id: str, script: ModuleType, runtime, tmp_path: Path
) -> None:
    stored = REFERENCES["models"][model_id]
    output = script.render(runtime, model_id, tmp_path)
    advice = (
        f"{model_id} no longer makes its reference output (seed {script.SEED}). If the change "
        "is intended, run scripts/write_reference_outputs.py and commit the JSON with it."
    )
    if script.fingerprint() == REFERENCES["fingerprint"]:
        assert output.sha256 == stored["sha256"], (
            f"{advice}\nsummary now {output.summary}\nstored     {stored['summary']}"
        )
    else:
        assert_close_summary(stored["spec"]["kind"], output.summary, stored["summary"])

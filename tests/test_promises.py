"""Every promise README.md makes, each with a test that fails without it: files are written
atomically and never overwritten without `--overwrite`; weights are ONNX or safetensors only
and nothing is ever unpickled; every weight file is checked against its sha256 under either
backend; every bundled model the README lists is there and loads."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from studio.cli import main
from studio.core.catalog import BUNDLED_MODELS, Catalog
from studio.core.errors import ManifestError, MediaError, ModelError
from studio.core.manifest import file_sha256
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.media import files
from studio.media.audio import read_audio, write_audio
from studio.media.image import read_image, write_image
from studio.media.text import read_text, write_text

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"


def edit_manifest(folder: Path, change) -> None:
    path = folder / "manifest.toml"
    data = tomllib.loads(path.read_text())
    change(data)
    path.write_text(tomli_w.dumps(data))


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    """Names in `folder` other than `keep`: a temporary file left behind shows up here."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# -- files are written atomically -------------------------------------------------------------
# A write that runs out of room half way: RLIMIT_FSIZE makes every write past 4 KiB fail with
# EFBIG (SIGXFSZ ignored), as a full disk would. In a child process, so the limit binds nothing
# of pytest's. The old file is far smaller than the limit; the new one far larger.
HALF_WAY_SCRIPT = """
import resource, signal, sys
from pathlib import Path
import numpy as np
from studio.core.errors import MediaError
from studio.media.audio import write_audio
from studio.media.image import write_image
from studio.media.text import write_text

kind, path = sys.argv[1], Path(sys.argv[2])
noise = np.random.default_rng(0)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    if kind == "image":
        write_image(path, noise.integers(0, 256, (128, 128, 3), dtype=np.uint8), overwrite=True)
    elif kind == "audio":
        write_audio(path, noise.uniform(-1, 1, 16000), 16000, overwrite=True)
    else:
        write_text(path, "x" * 100_000, None, overwrite=True)
except MediaError as exc:
    print("MediaError:", exc)
"""


@pytest.mark.parametrize(
    ("kind", "name"), [("image", "old.png"), ("audio", "old.wav"), ("text", "old.md")]
)
def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, kind: str, name: str
) -> None:
    path = tmp_path / name
    if kind == "image":
        write_image(path, np.full((4, 4, 3), 200, np.uint8))
    elif kind == "audio":
        write_audio(path, np.zeros(100, np.float32), 16000)
    else:
        write_text(path, "the old text", None)
    before = path.read_bytes()
    assert len(before) < 4096
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the tree under test
    done = subprocess.run(
        [sys.executable, "-c", HALF_WAY_SCRIPT, kind, str(path)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=True,
    )  # fmt: skip
    assert done.stdout.startswith("MediaError:") and name in done.stdout, done.stdout
    assert "cannot write" in done.stdout
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {name}) == []


def test_a_failed_replace_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_image(tmp_path / "old.png", np.full((4, 4, 3), 7, np.uint8))
    before = path.read_bytes()

    def broken_replace(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(MediaError, match=r"old\.png: cannot write \(No space left on device\)"):
        write_image(path, np.full((4, 4, 3), 99, np.uint8), overwrite=True)
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"old.png"}) == []


def test_a_failed_new_file_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_link(source: object, target: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files.os, "link", broken_link)
    with pytest.raises(MediaError, match=r"new\.md: cannot write"):
        write_text(tmp_path / "new.md", "text", None)
    assert leftovers(tmp_path, set()) == []


def test_a_name_taken_while_writing_is_not_clobbered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "race.md"
    real_link = os.link

    def someone_else_first(source: str, target: str) -> None:
        Path(target).write_text("theirs")  # another program takes the name meanwhile
        real_link(source, target)

    monkeypatch.setattr(files.os, "link", someone_else_first)
    with pytest.raises(MediaError, match="already exists"):
        write_text(path, "mine", None)
    assert path.read_text() == "theirs"
    assert leftovers(tmp_path, {"race.md"}) == []


# -- never overwritten unless --overwrite ------------------------------------------------------
@pytest.fixture
def cli_models(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_gan_folder: Path,
    tiny_vae_folder: Path,
    tiny_gpt_folder: Path,
    tiny_wavenet_folder: Path,
) -> Path:
    root = tmp_path / "models"
    for folder in (tiny_gan_folder, tiny_vae_folder, tiny_gpt_folder, tiny_wavenet_folder):
        shutil.copytree(folder, root / folder.name)
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(root))
    return root


def _picture(tmp_path: Path) -> Path:
    return write_image(tmp_path / "mine.png", np.full((8, 8, 3), 90, np.uint8))


OVERWRITES = {  # verb arguments before --out; how to read back what was written
    "image": (["generate", "--model", "tiny-gan", "--seed", "4"], "x.png"),
    "text": (["generate", "--model", "tiny-gpt", "--prompt", "In", "--max-tokens", "4"], "x.md"),
    "audio": (["generate", "--model", "tiny-wavenet", "--seconds", "0.05"], "x.flac"),
    "encode": (["encode", "--model", "tiny-vae", "{picture}"], "x.npy"),
}


def _written_by_studio(path: Path) -> bool:
    if path.suffix == ".png":
        return read_image(path)[1] is not None
    if path.suffix == ".md":
        return read_text(path)[1] is not None
    if path.suffix == ".flac":
        return read_audio(path)[2] is not None
    return np.load(path).shape == (8,)  # the tiny VAE's latent


@pytest.mark.parametrize("kind", OVERWRITES)
def test_the_cli_overwrites_only_when_asked(
    cli_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    verb, name = OVERWRITES[kind]
    picture = str(_picture(tmp_path))
    args = [a.replace("{picture}", picture) for a in verb]
    out = tmp_path / name
    out.write_bytes(b"precious")
    assert main([*args, "--out", str(out)]) == 2
    assert out.read_bytes() == b"precious"
    err = capsys.readouterr().err
    assert "already exists" in err and name in err
    assert main([*args, "--out", str(out), "--overwrite"]) == 0
    assert out.read_bytes() != b"precious" and _written_by_studio(out)
    assert leftovers(tmp_path, {name, "models", "mine.png"}) == []


def test_encode_writes_its_latent_atomically(cli_models: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.npy"
    np.save(out, np.zeros(3))
    before = out.read_bytes()
    script = (
        "import resource, signal, sys\n"
        "from studio.cli import main\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (140, 140))\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = ["encode", "--model", "tiny-vae", str(_picture(tmp_path)), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script, *args, "--overwrite"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert out.read_bytes() == before  # today: cut short at 140 bytes, and exit status 0
    assert done.returncode == 2, done.stderr


# -- weights: ONNX or safetensors only, nothing ever unpickled ---------------------------------
class Booby:
    """Unpickling this makes the directory `marker`: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.mkdir, (str(self.marker),))


@pytest.fixture
def model_copy(tmp_path: Path, tiny_gan_folder: Path) -> Path:
    return Path(shutil.copytree(tiny_gan_folder, tmp_path / "models" / "tiny-gan"))


def _point_at(folder: Path, fmt: str, name: str) -> None:
    """Make the manifest's `fmt` weights of the generator `name`, with its true sha256."""

    def change(data: dict) -> None:
        entry = data["networks"]["generator"][fmt]
        entry["path"], entry["sha256"] = name, file_sha256(folder / name)

    edit_manifest(folder, change)


@pytest.mark.parametrize(
    ("fmt", "backend", "name", "how"),
    [
        ("safetensors", "torch", "generator.safetensors", "pickle"),
        ("safetensors", "torch", "generator.pt", "torch.save"),
        ("onnx", "onnx", "generator.onnx", "pickle"),
        ("onnx", "onnx", "generator.pt", "torch.save"),
    ],
)
def test_a_pickle_among_the_weights_is_refused_and_never_unpickled(
    model_copy: Path, tmp_path: Path, fmt: str, backend: str, name: str, how: str
) -> None:
    marker = tmp_path / "unpickled"
    weights = model_copy / name
    if how == "pickle":
        weights.write_bytes(pickle.dumps({"generator.weight": Booby(marker)}))
    else:
        import torch

        torch.save({"generator.weight": Booby(marker)}, weights)
    assert not marker.exists()
    _point_at(model_copy, fmt, name)  # the sha256 matches: only the format stops it
    runtime = ModelRuntime(Catalog([(model_copy.parent, "user")]))
    with pytest.raises(ModelError) as refused:
        runtime.family("tiny-gan", backend, "cpu")
    message = str(refused.value)
    assert name in message
    assert ("not a readable safetensors file" if fmt == "safetensors" else "cannot load") in message
    assert not marker.exists(), "a weight file was unpickled"


def test_a_model_of_pickled_weights_only_is_listed_as_broken(
    model_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    import torch

    marker = tmp_path / "unpickled"
    torch.save({"generator.weight": Booby(marker)}, model_copy / "generator.pt")

    def pt_only(data: dict) -> None:
        network = data["networks"]["generator"]
        del network["onnx"], network["safetensors"]
        network["pytorch"] = {"path": "generator.pt", "sha256": "0" * 64}

    edit_manifest(model_copy, pt_only)
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(model_copy.parent))
    (entry,) = Catalog([(model_copy.parent, "user")]).entries
    assert entry.manifest is None and isinstance(entry.error, ManifestError)
    assert entry.error.field == "networks.generator"
    assert "needs an 'onnx' or a 'safetensors' file" in str(entry.error)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"tiny-gan\s+BROKEN: .*needs an 'onnx' or a 'safetensors' file", out)
    assert main(["generate", "--model", "tiny-gan", "--out", str(tmp_path / "x.png")]) == 2
    assert not marker.exists()


# -- weights are checked against their sha256, under either backend ----------------------------
def _flip_a_weight(path: Path) -> None:
    """Change one byte inside the weight values, leaving the file loadable."""
    data = bytearray(path.read_bytes())
    if path.suffix == ".onnx":
        import onnx

        model = onnx.load(str(path))
        largest = max(model.graph.initializer, key=lambda t: len(t.raw_data)).raw_data
        at = data.find(largest) + len(largest) // 2
        assert len(largest) > 64 and at > len(largest) // 2
    else:
        at = len(data) - 3  # safetensors: the header comes first, the values last
    data[at] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("backend", "name"), [("onnx", "generator.onnx"), ("torch", "generator.safetensors")]
)
def test_a_tampered_weight_file_is_refused_naming_it(
    model_copy: Path, tmp_path: Path, capsys, monkeypatch, backend: str, name: str
) -> None:
    from studio.backends.select import open_session
    from studio.core.manifest import parse_manifest

    _flip_a_weight(model_copy / name)
    # still a loadable network: only the sha256 check stands between it and the user
    session = open_session(parse_manifest(model_copy / "manifest.toml"), "generator", backend)
    assert session.run({"z": np.ones((1, 8), np.float32)})["image"].shape == (1, 3, 8, 8)

    runtime = ModelRuntime(Catalog([(model_copy.parent, "user")]))
    fmt = "onnx" if backend == "onnx" else "safetensors"
    with pytest.raises(ManifestError) as refused:
        runtime.family("tiny-gan", backend)
    assert refused.value.field == f"networks.generator.{fmt}.sha256"
    assert f"{name} does not match its sha256" in str(refused.value)

    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(model_copy.parent))
    out = tmp_path / "x.png"
    assert main(["generate", "--model", "tiny-gan", "--backend", backend, "--out", str(out)]) == 2
    assert name in capsys.readouterr().err and not out.exists()
    other = "torch" if backend == "onnx" else "onnx"  # the untouched file still loads
    assert main(["generate", "--model", "tiny-gan", "--backend", other, "--out", str(out)]) == 0


# -- every bundled model the README lists is there and loads -----------------------------------
def readme_models() -> list[str]:
    """The ids in the first column of README.md's model tables."""
    ids = re.findall(r"^\| `([a-z0-9._-]+)` \|", README.read_text(encoding="utf-8"), re.M)
    return sorted(set(ids))


README_MODELS = readme_models()


def test_the_readme_lists_the_bundled_models_and_studio_models_shows_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(README_MODELS) >= 10, README_MODELS
    on_disk = {p.name for p in BUNDLED_MODELS.iterdir() if (p / "manifest.toml").is_file()}
    assert set(README_MODELS) <= on_disk, "listed in README.md but not in models/"
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(tmp_path / "no-user-models"))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "BROKEN" not in out
    for model_id in README_MODELS:
        assert re.search(rf"^{re.escape(model_id)}\s+\S+\s+\S+\s+onnx,torch\s.*bundled$", out, re.M)


@pytest.fixture(scope="module")
def bundled() -> ModelRuntime:
    return ModelRuntime(Catalog([(BUNDLED_MODELS, "bundled")]))


@pytest.mark.parametrize("model_id", README_MODELS)
def test_every_listed_model_loads(bundled: ModelRuntime, model_id: str) -> None:
    family = bundled.family(model_id)  # sha256 checked, every network opened
    assert family.manifest.id == model_id and family.sessions


def test_one_tiny_generation_per_modality_on_the_bundled_models(
    bundled: ModelRuntime, tmp_path: Path
) -> None:
    from studio.core.audio_request import AudioRequest
    from studio.core.requests import ImageRequest
    from studio.core.style_request import StyleRequest
    from studio.core.text_request import TextRequest

    modalities = {m: bundled.catalog.get(m).modality for m in README_MODELS}
    assert set(modalities.values()) == {"image", "text", "audio", "style"}

    picture = run_to_completion(bundled.image_job(ImageRequest("gan-emoji-32", seed=1))).pixels
    assert picture.shape == (32, 32, 3) and picture.std() > 10  # a picture, not a flat field

    text = run_to_completion(bundled.text_job(TextRequest("gpt-kjv", "And the", max_tokens=8)))
    assert text.tokens == 8 and text.completion

    note = AudioRequest("wavenet-notes-16k", seconds=0.05)
    sound = run_to_completion(bundled.audio_job(note))
    assert len(sound.audio) == round(0.05 * sound.sample_rate) and np.abs(sound.audio).max() > 0

    photo = write_image(
        tmp_path / "photo.png",
        (np.indices((48, 48)).sum(0) * 2).astype(np.uint8)[..., None].repeat(3, -1),
    )
    style = write_image(
        tmp_path / "style.png",
        np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8),
    )
    request = StyleRequest(
        str(photo), file_sha256(photo), str(style), file_sha256(style),
        model_id="adain-style", method="fast", size=64,
    )  # fmt: skip
    styled = run_to_completion(bundled.style_job(request)).pixels
    assert styled.shape == (64, 64, 3) and styled.dtype == np.uint8

"""The wheel carries the bundled models and assets: build it, install it into a fresh venv, and
from another directory `studio models` lists every bundled model and `studio generate` draws.

The build runs on a copy of the checkout (a stale build/ could hide a missing file, and the
checkout is shared), with decoy runs/, data/ and .venv/ folders that must stay out. The fresh
venv gets no pip and no download: the wheel goes in with --no-deps, then a .pth file lends it
this environment's site-packages for numpy, onnxruntime and the rest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
LEFT_OUT = {".git", ".venv", "build", "dist", "runs", "data"}  # and caches, *.egg-info
DECOYS = ("runs", "data", ".venv")
BUNDLED = "studio/_bundled/"
GAN = "gan-emoji-32"
PURELIB = "import sysconfig; print(sysconfig.get_path('purelib'))"
WHERE = "import studio.core.bundled as b; print(b.bundled_models_dir(), b.assets_dir())"


def copy_checkout(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*_cache")
    for entry in REPO.iterdir():
        if entry.name in LEFT_OUT or entry.name.endswith((".egg-info", "_cache")):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, ignore=ignore)
        else:
            shutil.copy2(entry, dest / entry.name)
    for name in DECOYS:
        (dest / name).mkdir()
        (dest / name / "decoy.txt").write_text("must not reach the wheel\n")


def run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def data_files(src: Path) -> set[str]:
    """What the wheel must carry: every file of models/ and assets/, as studio/_bundled/..."""
    return {
        BUNDLED + path.relative_to(src).as_posix()
        for folder in ("models", "assets")
        for path in (src / folder).rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


def bundled_ids(src: Path) -> list[str]:
    manifests = sorted((src / "models").glob("*/manifest.toml"))
    return [tomllib.loads(m.read_text(encoding="utf-8"))["id"] for m in manifests]


def test_installed_wheel_lists_bundled_models_and_generates(tmp_path: Path) -> None:
    src, dist, venv, elsewhere = (tmp_path / n for n in ("src", "dist", "venv", "elsewhere"))
    for folder in (src, elsewhere, tmp_path / "no-user-models"):
        folder.mkdir()
    copy_checkout(src)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["LATENT_STUDIO_MODELS"] = str(tmp_path / "no-user-models")

    pip = [sys.executable, "-m", "pip"]
    run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, src],
        src,
        env,
    )
    (wheel,) = dist.glob("latent_studio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info"
    assert {n.split("/")[0] for n in names} == {"studio", dist_info}
    assert data_files(src) <= names, sorted(data_files(src) - names)
    assert {n for n in names if n.startswith(BUNDLED)} == data_files(src)
    assert any(n.endswith("licenses/LICENSE") for n in names)

    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, env)
    python = venv / "bin" / "python"
    run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], tmp_path, env)
    site = Path(run([python, "-c", PURELIB], tmp_path, env).strip())
    ours = dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib"))
    (site / "project-dependencies.pth").write_text("".join(f"{p}\n" for p in ours))

    where = run([python, "-c", WHERE], elsewhere, env).split()
    assert all(Path(p).is_relative_to(site / "studio" / "_bundled") for p in where), where
    assert sorted(Path(where[1], "styles").glob("*.png"))

    studio = venv / "bin" / "studio"
    listed = run([studio, "models"], elsewhere, env).splitlines()
    bundled = [line.split()[0] for line in listed if line.endswith("bundled")]
    assert bundled == bundled_ids(src) and bundled

    out = run([studio, "generate", "--model", GAN, "--seed", "1", "--out", "x.png"], elsewhere, env)
    assert out.startswith("wrote x.png (32x32, ")
    with Image.open(elsewhere / "x.png") as picture:
        assert picture.size == (32, 32)

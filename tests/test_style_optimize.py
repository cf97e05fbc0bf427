"""Coarse-to-fine optimisation-based style transfer on the bundled VGG-16 features: the
schedule, stage sizes, a global iteration count, cancelling at either stage, determinism and
colour keeping. The threshold is lowered to 32 px so tiny pictures take both stages."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studio.backends import torch_style
from studio.core.catalog import BUNDLED_MODELS, Catalog
from studio.core.manifest import file_sha256
from studio.core.style_request import StyleRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime

FINAL = (38, 48, 3)  # the 80x64 photo fitted to size 48
COARSE = (19, 24, 3)


def test_the_schedule_halves_large_sides_and_keeps_every_stage_busy() -> None:
    assert torch_style.stages(512, 384, 150) == [(512, 384, 150)]
    assert torch_style.stages(768, 1024, 150) == [(384, 512, 100), (768, 1024, 50)]
    assert torch_style.stages(1536, 2048, 150) == [
        (384, 512, 67),
        (768, 1024, 33),
        (1536, 2048, 50),
    ]
    assert torch_style.stages(1024, 1024, 1) == [(1024, 1024, 1)]  # one iteration: no split
    assert torch_style.stages(1024, 2, 3) == [(1024, 2, 3)]  # a sliver is not halved
    assert torch_style.stages(600, 520, 2) == [(300, 260, 1), (600, 520, 1)]


@pytest.fixture(scope="module")
def pictures(style_pictures) -> tuple:
    return style_pictures[:2]  # photo and stripes


@pytest.fixture(scope="module")
def runtime() -> ModelRuntime:
    return ModelRuntime(Catalog([(BUNDLED_MODELS, "bundled")]))


@pytest.fixture
def stages(monkeypatch) -> list[dict]:
    """Lowers the coarse-to-fine threshold and records each stage optimize_style runs: its
    content shape, whether it had a starting picture, and the shapes it yielded."""
    monkeypatch.setattr(torch_style, "COARSE_ABOVE", 32)
    original = torch_style.optimize_style
    runs: list[dict] = []

    def recorded(session, content, style, *args, **kwargs):
        run = {"content": content.shape, "style": style.shape, "yielded": []}
        run["init"] = (args[3:] or (kwargs.get("init"),))[0] is not None
        runs.append(run)
        steps = original(session, content, style, *args, **kwargs)
        for step in steps:  # the return value is the last picture yielded
            run["yielded"].append(step[2].shape)
            yield step
        return step[2]

    monkeypatch.setattr(torch_style, "optimize_style", recorded)
    return runs


def request(content, style, **settings) -> StyleRequest:
    values = {"size": 48, "iterations": 6, **settings}
    return StyleRequest(
        str(content), file_sha256(content), str(style), file_sha256(style), **values
    )


def run_all(runtime: ModelRuntime, request: StyleRequest) -> tuple[list, np.ndarray]:
    job, progress = runtime.style_job(request), []
    while True:
        try:
            progress.append(next(job))
        except StopIteration as done:
            return progress, done.value.pixels


def test_coarse_to_fine_runs_both_stages_and_counts_iterations_globally(
    runtime, pictures, stages
) -> None:
    progress, pixels = run_all(runtime, request(*pictures, iterations=12))
    assert [s["content"] for s in stages] == [COARSE, FINAL]
    assert [s["style"] for s in stages] == [(19, 24, 3), (38, 48, 3)]  # the style shrinks too
    assert [s["init"] for s in stages] == [False, True]
    assert stages[0]["yielded"] == [COARSE] * 8 and stages[1]["yielded"] == [FINAL] * 4
    assert [p.step for p in progress] == list(range(1, 13))
    assert [p.fraction for p in progress] == pytest.approx([i / 12 for i in range(1, 13)])
    assert all(p.preview.shape == FINAL for p in progress)  # coarse previews upsampled
    assert progress[3].message.startswith("iteration 4/12")
    losses = [float(p.message.rsplit(" ", 1)[1]) for p in progress]
    # each stage lowers its loss; the upsampled start of the fine stage lacks the finest
    # detail, so its loss jumps up, yet ends below where the whole run began
    assert losses[7] < losses[0] and losses[11] < losses[8] and losses[11] < losses[0]
    assert pixels.shape == FINAL and np.array_equal(pixels, progress[-1].preview)
    _, again = run_all(runtime, request(*pictures, iterations=12))
    assert np.array_equal(pixels, again)  # same request, same pixels


@pytest.mark.parametrize("stop_at", [2, 5])  # in the coarse stage, in the fine one
def test_closing_the_job_stops_it_at_either_stage(runtime, pictures, stages, stop_at) -> None:
    job = runtime.style_job(request(*pictures))
    for progress in job:
        if progress.step == stop_at:
            job.close()  # what the engine does on cancel
            break
    assert sum(len(s["yielded"]) for s in stages) == stop_at
    assert len(stages) == (1 if stop_at <= 4 else 2)


def test_colours_are_kept_through_the_stages(runtime, pictures, stages) -> None:
    result = run_all(runtime, request(*pictures, iterations=3, keep_colors=True))[1]
    assert len(stages) == 2 and result.shape == FINAL
    photo = np.asarray(Image.open(pictures[0]).resize((48, 38), Image.Resampling.LANCZOS))
    to_chroma = np.array([[-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    chroma = lambda rgb: rgb.astype(np.float64) @ to_chroma.T  # noqa: E731
    assert np.abs(chroma(result) - chroma(photo)).mean() < 3.0  # rounding and clipping only


def test_a_small_picture_takes_one_stage(runtime, pictures, stages, monkeypatch) -> None:
    monkeypatch.setattr(torch_style, "COARSE_ABOVE", 48)
    result = run_to_completion(runtime.style_job(request(*pictures, iterations=2)))
    assert [s["content"] for s in stages] == [FINAL] and result.pixels.shape == FINAL


def test_optimisation_runs_on_the_cached_torch_session_and_records_its_device(
    runtime, pictures, monkeypatch
) -> None:
    """Gatys goes through the backends layer: the feature network is the runtime's cached
    torch session (loaded once for two jobs), and the provenance names the device it ran on."""
    from studio.backends.torch import TorchSession

    opened: list[object] = []
    original_init = TorchSession.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(TorchSession, "__init__", counting_init)
    fresh = ModelRuntime(runtime.catalog)
    results = [run_all(fresh, request(*pictures, iterations=2, seed=s))[1] for s in (0, 1)]
    assert len(opened) == 1  # the second job reused the cached session
    family = fresh.family("vgg16-features", "torch")
    job = fresh.style_job(request(*pictures, iterations=1))
    result = run_to_completion(job)
    assert result.provenance.backend == "torch"
    assert result.provenance.provider == family.sessions["features"].choice.device
    assert not np.array_equal(results[0], results[1])  # the seeds' noise differs

"""The training loop on a deterministic toy recipe: budgets, resume, EMA, logs, checkpoints."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.training.checkpoint import CheckpointError, flatten, unflatten
from studio.training.loop import EMA, LoopSettings, Outcome, Rngs, Run, Tick, train
from studio.training.trainable import Trainable

TARGET = torch.tensor([[1.0], [-2.0], [0.5]])


class FakeClock:
    """Seconds that move only when a toy step says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Toy(Trainable):
    """Noisy linear regression drawing from all three generators (numpy, torch, torch's
    global one), a persistent tensor in its extra state, 6 fake seconds a step."""

    def __init__(self, rngs: Rngs, clock: FakeClock) -> None:
        self.net = torch.nn.Linear(3, 1)
        adam = torch.optim.Adam(self.net.parameters(), lr=0.05)
        super().__init__(4, {"net": self.net}, {"adam": adam})
        self.rngs, self.clock = rngs, clock
        self.total = torch.zeros(())
        self.ticks: list[Tick] = []
        self.weights: list[torch.Tensor] = []  # after each step
        self.previews: list[tuple[int, list[str]]] = []

    def step(self, tick: Tick) -> Mapping[str, float]:
        self.ticks.append(tick)
        x = torch.from_numpy(self.rngs.numpy.standard_normal((4, 3)).astype(np.float32))
        y = x @ TARGET + 0.1 * torch.randn(4, 1, generator=self.rngs.torch)
        keep = (torch.rand(4, 1) > 0.2).float()  # torch's global generator
        loss = (((self.net(x) - y) * keep) ** 2).mean()
        optimiser = self.optimisers["adam"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        self.total += loss.detach()
        self.weights.append(self.net.weight.detach().clone())
        self.clock.now += 6.0
        return {"loss": loss.item(), "total": float(self.total)}

    def preview(self, step: int, averages: Mapping[str, torch.nn.Module]) -> None:
        self.previews.append((step, sorted(averages)))

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {"total": self.total}

    def load_extra_state(self, state: Mapping[str, torch.Tensor]) -> None:
        self.total = state["total"].clone()


def run_toy(
    work: Path, settings: LoopSettings | None = None, **run: float | bool | None
) -> Outcome[Toy]:
    clock = FakeClock()
    budget = Run(work=work, **{"minutes": 60.0, **run})  # type: ignore[arg-type]
    settings = settings or LoopSettings("toy", log_every=2, checkpoint_every=3)
    return train(lambda rngs: Toy(rngs, clock), budget, settings, clock=clock)


def test_the_step_budget_stops_the_run(tmp_path: Path) -> None:
    outcome = run_toy(tmp_path, max_steps=7)
    assert outcome.steps == 7 and outcome.examples == 28
    assert [t.index for t in outcome.recipe.ticks] == list(range(7))
    assert outcome.minutes == pytest.approx(0.7)


def test_the_time_budget_stops_the_run(tmp_path: Path) -> None:
    # 6 fake seconds a step; the step cap only keeps a broken time budget from hanging
    outcome = run_toy(tmp_path, minutes=0.5, max_steps=50)
    assert outcome.steps == 5 and outcome.minutes == pytest.approx(0.5)
    progress = [t.progress for t in outcome.recipe.ticks]
    assert progress == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])


def test_resume_continues_steps_and_minutes_and_matches_one_run(tmp_path: Path) -> None:
    settings = LoopSettings("toy", log_every=2, checkpoint_every=3, ema=EMA(("net",), 0.8))
    whole = run_toy(tmp_path / "whole", settings, max_steps=10)
    first = run_toy(tmp_path / "split", settings, max_steps=4)
    assert first.steps == 4
    rest = run_toy(tmp_path / "split", settings, max_steps=10, resume=True)
    assert [t.index for t in rest.recipe.ticks] == list(range(4, 10))
    assert (rest.steps, rest.examples) == (10, 40)
    assert rest.minutes == pytest.approx(whole.minutes) == pytest.approx(1.0)
    for a, b in zip(rest.recipe.state_dict()["optimisers"]["adam"]["state"].values(),
                    whole.recipe.state_dict()["optimisers"]["adam"]["state"].values(),
                    strict=True):  # fmt: skip
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(rest.recipe.net.weight, whole.recipe.net.weight, rtol=0, atol=0)
    torch.testing.assert_close(rest.recipe.total, whole.recipe.total, rtol=0, atol=0)
    averaged, averaged_whole = rest.averages["net"].weight, whole.averages["net"].weight
    torch.testing.assert_close(averaged, averaged_whole, rtol=0, atol=0)
    assert rest.losses == whole.losses


def test_resume_without_a_checkpoint_starts_afresh(tmp_path: Path) -> None:
    assert run_toy(tmp_path, max_steps=3, resume=True).steps == 3


def test_resume_refuses_a_torn_checkpoint_and_another_seed(tmp_path: Path) -> None:
    run_toy(tmp_path, max_steps=3)
    with pytest.raises(CheckpointError, match="seed"):
        run_toy(tmp_path, max_steps=5, resume=True, seed=1)
    info = json.loads((tmp_path / "checkpoint.json").read_text())
    (tmp_path / "checkpoint.json").write_text(json.dumps({**info, "step": 2}))
    with pytest.raises(CheckpointError, match="torn"):
        run_toy(tmp_path, max_steps=5, resume=True)


def test_ema_follows_the_live_weights(tmp_path: Path) -> None:
    settings = LoopSettings("toy", ema=EMA(("net",), 0.75))
    clock = FakeClock()
    initial: list[torch.Tensor] = []

    def make(rngs: Rngs) -> Toy:
        toy = Toy(rngs, clock)
        initial.append(toy.net.weight.detach().clone())
        return toy

    outcome = train(make, Run(tmp_path, 60.0, max_steps=6), settings, clock=clock)
    expected = initial[0]
    for live in outcome.recipe.weights:
        expected = 0.75 * expected + 0.25 * live
    torch.testing.assert_close(outcome.averages["net"].weight, expected)
    assert not torch.equal(outcome.averages["net"].weight, outcome.recipe.net.weight)
    assert not outcome.averages["net"].weight.requires_grad


def test_ema_half_life_and_unknown_modules() -> None:
    assert EMA.half_life(("g",), 10).decay ** 10 == pytest.approx(0.5)
    assert EMA(("g",), 0.999).half_life_steps == pytest.approx(692.8, abs=0.1)
    with pytest.raises(KeyError, match="nope"):
        run_toy(Path("/nonexistent"), LoopSettings("toy", ema=EMA(("nope",), 0.5)), max_steps=1)


def test_progress_is_logged_and_previews_see_the_averages(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = LoopSettings("toy", log_every=2, preview_every=3, ema=EMA(("net",), 0.9))
    with caplog.at_level(logging.INFO, logger="studio.training.loop"):
        outcome = run_toy(tmp_path, settings, max_steps=6)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3 and lines[0].startswith("toy step 2/6  0.17 steps/s  loss ")
    assert lines[-1].endswith("ETA 0:00") and "total " in lines[-1]
    assert outcome.recipe.previews == [(3, ["net"]), (6, ["net"])]


def test_checkpoint_trees_round_trip() -> None:
    adam_like = {"state": {0: {"step": torch.tensor(3.0)}}, "groups": [{"betas": (0.9, 0.99)}]}
    tree = {"a": adam_like, "b": [1, 2.5, None, "x", True], "$odd": torch.ones(2)}
    tensors, skeleton = flatten(tree)
    assert sorted(tensors) == ["/$odd", "/a/state/0/step"]
    back = unflatten(json.loads(json.dumps(skeleton)), tensors)
    assert back["a"]["state"][0]["step"] == 3.0 and back["a"]["groups"][0]["betas"] == (0.9, 0.99)
    assert back["b"] == [1, 2.5, None, "x", True] and torch.equal(back["$odd"], torch.ones(2))
    with pytest.raises(TypeError, match="set"):
        flatten({"bad": {1, 2}})

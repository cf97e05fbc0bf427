"""The one training loop: every recipe supplies a model, its data and its loss; the loop owns
the budget, seeding, progress, checkpoints and resume, and the exponential moving average.

A recipe is an object (usually a `Trainable`) built by a factory from the run's seeded
random generators; the loop calls `recipe.step(tick)` until the time budget (minutes, summed
over every resumed run) or the step budget is spent:

    outcome = train(lambda rngs: MyRecipe(data, rngs), run, LoopSettings("my-model"))

Checkpoints (`checkpoint.safetensors` + `checkpoint.json` in `run.work`, see checkpoint.py)
hold the recipe's state (networks, optimisers, anything `extra_state` adds), the averaged
networks, every random generator's state, the step, the examples seen and the minutes spent;
`Run(resume=True)` continues from them exactly where the run stopped, so an interrupted run
and an uninterrupted one of the same budget give the same weights.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import torch

from studio.training.averaging import EMA, Averages
from studio.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

__all__ = ["EMA", "LoopSettings", "Outcome", "Recipe", "Rngs", "Run", "Tick", "train"]
CHECKPOINT = "checkpoint"  # runs/MODEL/checkpoint.safetensors + checkpoint.json
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """What the command line decides for one run. `minutes` and `max_steps` are totals over
    the run and every run it resumes (like Lightning's max_time and max_steps)."""

    work: Path  # checkpoints and previews
    minutes: float
    max_steps: int | None = None
    resume: bool = False
    seed: int = 0


@dataclass(frozen=True)
class LoopSettings:
    """What a recipe decides about its loop. Intervals are in steps; 0 turns one off."""

    name: str  # the model id, for log lines
    log_every: int = 100
    checkpoint_every: int = 1000
    preview_every: int = 0
    ema: EMA | None = None
    max_steps: int | None = None  # the recipe's own cap when the run sets none


@dataclass(frozen=True)
class Tick:
    """Where a step stands: `index` counts the steps before it and `minutes` the time spent
    before it, over all resumed runs; `progress` in [0, 1] is the spent share of the budget
    (time or steps, whichever is nearer its end), for learning-rate schedules."""

    index: int
    progress: float
    minutes: float = 0.0


@dataclass
class Rngs:
    """The run's random generators, seeded from `Run.seed`; their states are checkpointed
    (so is torch's global generator, which module initialisation and `randn_like` use)."""

    torch: torch.Generator
    numpy: np.random.Generator

    @classmethod
    def seeded(cls, seed: int) -> Rngs:
        torch.manual_seed(seed)
        return cls(torch.Generator().manual_seed(seed), np.random.default_rng(seed))

    def state(self) -> dict[str, Any]:
        return {
            "torch": self.torch.get_state(),
            "torch_global": torch.get_rng_state(),
            "numpy": self.numpy.bit_generator.state,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        self.torch.set_state(state["torch"])
        torch.set_rng_state(state["torch_global"])
        self.numpy.bit_generator.state = state["numpy"]


class Recipe(Protocol):
    """What the loop trains. `trainable.Trainable` implements all but `step`."""

    batch_size: int  # examples per step, for the examples-seen count

    def modules(self) -> Mapping[str, torch.nn.Module]:
        """The networks being trained, by name (EMA averages some of them)."""
        ...

    def step(self, tick: Tick) -> Mapping[str, float]:
        """One optimisation step -> its losses by name (plain floats, for the log)."""
        ...

    def preview(self, step: int, averages: Mapping[str, torch.nn.Module]) -> None:
        """Called every `preview_every` steps: sample grids, held-out numbers."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


R = TypeVar("R", bound=Recipe)


@dataclass
class Outcome(Generic[R]):
    """A finished run: the recipe (its networks trained), the averaged networks, and totals
    over every resumed run. `losses` are the means over the last `log_every` steps."""

    recipe: R
    averages: Mapping[str, torch.nn.Module]
    steps: int = 0
    examples: int = 0
    minutes: float = 0.0
    losses: dict[str, float] = field(default_factory=dict)


def train(
    make: Callable[[Rngs], R],
    run: Run,
    settings: LoopSettings,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome[R]:
    """Seed, build the recipe with `make(rngs)`, resume when asked and a checkpoint exists,
    then step until the budget is spent; checkpoints every `checkpoint_every` steps and at
    the end. `clock` (seconds) is injectable for tests."""
    rngs = Rngs.seeded(run.seed)
    recipe = make(rngs)
    averages = Averages(recipe.modules(), settings.ema)
    loop = _Loop(recipe, averages, rngs, run, settings, clock)
    loop.resume()
    loop.run()
    return loop.outcome


class _Loop(Generic[R]):
    def __init__(
        self,
        recipe: R,
        averages: Averages,
        rngs: Rngs,
        run: Run,
        settings: LoopSettings,
        clock: Callable[[], float],
    ) -> None:
        self.recipe, self.averages, self.rngs = recipe, averages, rngs
        self.run_, self.settings, self.clock = run, settings, clock
        self.max_steps = run.max_steps if run.max_steps is not None else settings.max_steps
        self.outcome = Outcome(recipe, averages.modules)
        self.seconds_before = 0.0  # spent by the runs this one resumes
        self.started = clock()
        # the losses of the last `log_every` steps (100 when nothing is logged)
        self.window: deque[Mapping[str, float]] = deque(maxlen=settings.log_every or 100)
        self.steps_at_start = 0  # for the rate: steps this process made

    @property
    def stem(self) -> Path:
        return self.run_.work / CHECKPOINT

    def elapsed(self) -> float:
        return self.seconds_before + self.clock() - self.started

    def progress(self) -> float:
        budget = self.run_.minutes * 60
        by_time = self.elapsed() / budget if budget > 0 else 1.0
        by_steps = self.outcome.steps / self.max_steps if self.max_steps else 0.0
        return min(1.0, max(by_time, by_steps))

    def spent(self) -> bool:
        steps_done = self.max_steps is not None and self.outcome.steps >= self.max_steps
        return steps_done or self.elapsed() >= self.run_.minutes * 60

    def run(self) -> None:
        every = self.settings
        while not self.spent():
            tick = Tick(self.outcome.steps, self.progress(), self.elapsed() / 60)
            losses = self.recipe.step(tick)
            self.averages.update()
            self.outcome.steps += 1
            self.outcome.examples += self.recipe.batch_size
            self.window.append(dict(losses))
            step = self.outcome.steps
            if every.log_every and step % every.log_every == 0:
                self.log()
            if every.preview_every and step % every.preview_every == 0:
                self.recipe.preview(step, self.averages.modules)
            if every.checkpoint_every and step % every.checkpoint_every == 0:
                self.save()
        self.outcome.minutes = self.elapsed() / 60
        self.outcome.losses = _means(self.window)
        self.save()

    def log(self) -> None:
        done, seconds = self.outcome.steps, self.clock() - self.started
        rate = (done - self.steps_at_start) / seconds if seconds > 0 else 0.0
        left = self.run_.minutes * 60 - self.elapsed()
        if self.max_steps is not None and rate > 0:
            left = min(left, (self.max_steps - done) / rate)
        losses = "  ".join(f"{k} {v:.4g}" for k, v in _means(self.window).items())
        total = f"/{self.max_steps}" if self.max_steps is not None else ""
        log.info(
            "%s step %d%s  %.2f steps/s  %s  ETA %s",
            self.settings.name, done, total, rate, losses, _clock_time(max(0.0, left)),
        )  # fmt: skip

    def save(self) -> None:
        info = {
            "model": self.settings.name,
            "step": self.outcome.steps,
            "examples": self.outcome.examples,
            "minutes": self.elapsed() / 60,
            "seed": self.run_.seed,
        }
        state = {
            "recipe": self.recipe.state_dict(),
            "averages": self.averages.state_dict(),
            "rngs": self.rngs.state(),
        }
        save_checkpoint(self.stem, state, info)

    def resume(self) -> None:
        if not self.run_.resume:
            return
        if not self.stem.with_suffix(".json").is_file():
            log.info("%s: no checkpoint in %s, starting afresh", self.settings.name, self.stem)
            return
        state, info = load_checkpoint(self.stem)
        if info.get("seed") != self.run_.seed:
            reason = f"is {info.get('seed')}, this run's is {self.run_.seed}"
            raise CheckpointError(self.stem.with_suffix(".json"), "seed", reason)
        self.recipe.load_state_dict(state["recipe"])
        self.averages.load_state_dict(state["averages"])
        self.rngs.load(state["rngs"])
        self.outcome.steps = self.steps_at_start = int(info["step"])
        self.outcome.examples = int(info["examples"])
        self.seconds_before = float(info["minutes"]) * 60
        name, minutes = self.settings.name, info["minutes"]
        log.info("%s: resumed at step %d after %.1f min", name, self.outcome.steps, minutes)


def _means(window: Iterable[Mapping[str, float]]) -> dict[str, float]:
    keys = dict.fromkeys(k for losses in window for k in losses)
    return {k: float(np.mean([w[k] for w in window if k in w])) for k in keys}


def _clock_time(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute}:{second:02d}"

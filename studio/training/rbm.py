"""Recipe for `rbm-glyphs-28`: a Bernoulli RBM trained by persistent contrastive divergence
(PCD, Tieleman 2008) on binary letter glyphs: 100 chains, SGD at 0.01 with momentum 0.9,
batches of 64; the held-out number is the free-energy gap between noise and glyphs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from studio.nets.rbm import RBM, RBMConfig, RBMHidden, RBMVisible
from studio.training.datasets import random_batch, split
from studio.training.export import export_network, export_safetensors
from studio.training.glyph_data import DATA_LICENCE, render_glyphs
from studio.training.images import grid_image
from studio.training.loop import LoopSettings, Rngs, Run, Tick, train
from studio.training.manifest_writer import ModelCard, Network, Origin, Tensor, write_manifest
from studio.training.trainable import Trainable

MODEL_ID = "rbm-glyphs-28"
log = logging.getLogger(__name__)


class RBMTraining(Trainable):
    """PCD: one Gibbs sweep of `chains` persistent chains per step; SGD with momentum 0.9 on
    the free-energy difference between data and chains, whose gradient is the negated
    log-likelihood gradient. Reports the mean-field reconstruction error."""

    def __init__(
        self,
        train: np.ndarray,
        net: RBMConfig,
        rngs: Rngs,
        chains: int = 100,
        learning_rate: float = 0.01,
    ) -> None:
        self.rbm = RBM(net)
        with torch.no_grad():  # visible biases at the data's log-odds (Hinton, 2010, §8.1)
            p = torch.from_numpy(train.mean(0)).clamp(0.01, 0.99)
            self.rbm.visible_bias.copy_(torch.log(p / (1 - p)))
        optimiser = torch.optim.SGD(self.rbm.parameters(), lr=learning_rate, momentum=0.9)
        super().__init__(64, {"rbm": self.rbm}, {"sgd": optimiser})
        self.train, self.rngs = train, rngs
        full = torch.full((chains, net.visible), 0.5)
        self.persistent = torch.bernoulli(full, generator=rngs.torch)

    def step(self, tick: Tick) -> Mapping[str, float]:
        rbm, rng = self.rbm, self.rngs.torch
        v_data = torch.from_numpy(random_batch(self.train, self.batch_size, self.rngs.numpy))
        with torch.no_grad():  # one Gibbs sweep of the persistent chains
            h = torch.bernoulli(rbm.hidden_probs(self.persistent), generator=rng)
            self.persistent = torch.bernoulli(rbm.visible_probs(h), generator=rng)
        # d/dθ of mean F(data) - mean F(model samples) is the log-likelihood gradient's negation
        loss = rbm.free_energy(v_data).mean() - rbm.free_energy(self.persistent).mean()
        self.optimisers["sgd"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimisers["sgd"].step()
        with torch.no_grad():
            reconstruction = rbm.visible_probs(rbm.hidden_probs(v_data))
        return {"reconstruction_error": float(((reconstruction - v_data) ** 2).mean())}

    def extra_state(self) -> dict[str, Any]:
        return {"persistent": self.persistent}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.persistent = state["persistent"].clone()

    def free_energy_gap(self, held_out: np.ndarray) -> float:
        """Mean free energy of noise (at the data's density) minus that of `held_out`."""
        with torch.no_grad():
            held = torch.from_numpy(held_out)
            density = float(self.train.mean())
            noise = torch.bernoulli(torch.full_like(held, density), generator=self.rngs.torch)
            return float(self.rbm.free_energy(noise).mean() - self.rbm.free_energy(held).mean())


def gibbs_grid(rbm: RBM, rows: int = 8, sweeps: int = 500) -> torch.Tensor:
    rng = torch.Generator().manual_seed(0)
    with torch.no_grad():
        v = torch.bernoulli(torch.full((rows * rows, rbm.config.visible), 0.2), generator=rng)
        for _ in range(sweeps):
            v = torch.bernoulli(
                rbm.visible_probs(torch.bernoulli(rbm.hidden_probs(v), generator=rng)),
                generator=rng,
            )
        p = rbm.visible_probs(torch.bernoulli(rbm.hidden_probs(v), generator=rng))
    side = int(rbm.config.visible**0.5)
    return p.view(-1, 1, side, side).expand(-1, 3, side, side)


def export_rbm(
    rbm: RBM,
    folder: Path,
    steps: int,
    minutes: float,
    gap: float,
    count: int,
    density: float,
    model_id: str = MODEL_ID,
    name: str = "Glyph RBM",
) -> None:
    """rbm.safetensors (shared by both graphs), hidden.onnx, visible.onnx, manifest.toml;
    `count` glyphs of mean `density` trained it, `gap` is `free_energy_gap`."""
    folder.mkdir(parents=True, exist_ok=True)
    c = rbm.config
    hidden, visible = RBMHidden(c).eval(), RBMVisible(c).eval()
    hidden.rbm, visible.rbm = rbm, rbm
    v = torch.bernoulli(torch.full((2, c.visible), 0.3))
    h = torch.bernoulli(torch.full((2, c.hidden), 0.5))
    export_safetensors(hidden, folder / "rbm.safetensors")  # both graphs share these weights
    diff = max(
        export_network(hidden, {"v": v}, folder, "hidden", ["p_h", "free_energy"], False),
        export_network(visible, {"h": h}, folder, "visible", "p_v", safetensors=False),
    )
    side = int(c.visible**0.5)
    card = ModelCard(
        id=model_id,
        name=name,
        family="rbm",
        modality="image",
        description=(
            f"Bernoulli RBM ({c.visible} visible x {c.hidden} hidden units) trained by "
            f"persistent contrastive divergence on {count} binary letter glyphs "
            f"({side}x{side}) from Debian's fonts; {steps} steps in {minutes:.0f} min. "
            "Samples by Gibbs chain; completes clamped glyphs."
        ),
        networks={
            "hidden": Network(
                "rbm-hidden",
                {"v": ("batch", c.visible)},
                {"p_h": ("batch", c.hidden), "free_energy": ("batch",)},
                c,
                "hidden.onnx",
                "rbm.safetensors",
            ),
            "visible": Network(
                "rbm-visible",
                {"h": ("batch", c.hidden)},
                {"p_v": ("batch", c.visible)},
                c,
                "visible.onnx",
                "rbm.safetensors",
            ),
        },
        io={"output": Tensor((1, side, side), range=(0.0, 1.0))},
        parameters={"default_steps": 300, "initial_density": density},
        metrics={"free_energy_gap_noise_minus_glyphs": gap},
        origin=Origin(DATA_LICENCE, diff),
    )
    write_manifest(folder, card)


def build(
    out: Path,
    run: Run,
    glyphs: np.ndarray | None = None,
    net: RBMConfig | None = None,
) -> Path:
    """Train on the rendered glyphs (or `glyphs`, (N, S, S) in {0, 1}) and export."""
    net = net or RBMConfig()
    run.work.mkdir(parents=True, exist_ok=True)
    glyphs = render_glyphs() if glyphs is None else glyphs
    flat = glyphs.reshape(len(glyphs), -1).astype(np.float32)
    training, held_out = split(flat, run.seed)
    loop = LoopSettings(MODEL_ID, log_every=500, max_steps=1_000_000)
    outcome = train(lambda rngs: RBMTraining(training, net, rngs), run, loop)
    gap = outcome.recipe.free_energy_gap(held_out)
    rbm = outcome.recipe.rbm
    grid_image(gibbs_grid(rbm), 0, 1).save(run.work / "samples.png")
    density = float(glyphs.mean())
    export_rbm(rbm, out, outcome.steps, outcome.minutes, gap, len(glyphs), density)
    log.info("exported %s: free-energy gap noise - glyphs %.1f", out, gap)
    return out

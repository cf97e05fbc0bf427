"""Recipe for `rbm-glyphs-28`: a Bernoulli RBM trained by persistent contrastive divergence
(PCD, Tieleman 2008) on binary letter glyphs."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from studio.nets.rbm import RBM, RBMConfig, RBMHidden, RBMVisible
from studio.training.encoder_recipes import grid_image
from studio.training.export import export_network, export_safetensors, origin, write_manifest
from studio.training.glyph_data import DATA_LICENCE, render_glyphs
from studio.training.likelihood import LoopConfig, loop_config, run_loop, split

MODEL_ID = "rbm-glyphs-28"
log = logging.getLogger(__name__)


def train_rbm(
    glyphs: np.ndarray,
    net: RBMConfig,
    loop: LoopConfig,
    chains: int = 100,
    on_progress=None,
    progress_every: int = 500,
) -> tuple[RBM, int, float]:
    """Returns (rbm, steps, mean free-energy gap held-out noise minus held-out glyphs)."""
    torch.manual_seed(loop.seed)
    rng = torch.Generator().manual_seed(loop.seed)
    train, held_out = split(glyphs.reshape(len(glyphs), -1).astype(np.float32), loop.seed)
    rbm = RBM(net)
    with torch.no_grad():  # visible biases at the data's log-odds (Hinton, 2010, §8.1)
        p = torch.from_numpy(train.mean(0)).clamp(0.01, 0.99)
        rbm.visible_bias.copy_(torch.log(p / (1 - p)))
    optimiser = torch.optim.SGD(rbm.parameters(), lr=loop.learning_rate, momentum=0.9)
    persistent = torch.bernoulli(torch.full((chains, net.visible), 0.5), generator=rng)

    def step(batch: np.ndarray) -> float:
        nonlocal persistent
        v_data = torch.from_numpy(batch)
        with torch.no_grad():  # one Gibbs sweep of the persistent chains
            h = torch.bernoulli(rbm.hidden_probs(persistent), generator=rng)
            persistent = torch.bernoulli(rbm.visible_probs(h), generator=rng)
        # d/dθ of mean F(data) - mean F(model samples) is the log-likelihood gradient's negation
        loss = rbm.free_energy(v_data).mean() - rbm.free_energy(persistent).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            reconstruction = rbm.visible_probs(rbm.hidden_probs(v_data))
        return float(((reconstruction - v_data) ** 2).mean())

    progress = None if on_progress is None else (lambda s, err: on_progress(s, err, rbm))
    steps = run_loop(step, train, loop, progress, progress_every)
    with torch.no_grad():
        held = torch.from_numpy(held_out)
        noise = torch.bernoulli(torch.full_like(held, float(train.mean())), generator=rng)
        gap = float(rbm.free_energy(noise).mean() - rbm.free_energy(held).mean())
    return rbm, steps, gap


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
    rbm: RBM, folder: Path, meta: dict, model_id: str = MODEL_ID, name: str = "Glyph RBM"
) -> None:
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
    weights = {"config": asdict(c), "safetensors": {"path": "rbm.safetensors"}}
    write_manifest(
        folder,
        {
            "id": model_id,
            "name": name,
            "family": "rbm",
            "modality": "image",
            "description": (
                f"Bernoulli RBM ({c.visible} visible x {c.hidden} hidden units) trained by "
                f"persistent contrastive divergence on {meta['count']} binary letter glyphs "
                f"({side}x{side}) from Debian's fonts; {meta['steps']} steps in "
                f"{meta['minutes']:.0f} min. Samples by Gibbs chain; completes clamped glyphs."
            ),
            "networks": {
                "hidden": {
                    **weights,
                    "architecture": "rbm-hidden",
                    "onnx": {"path": "hidden.onnx"},
                    "inputs": {"v": {"shape": ["batch", c.visible]}},
                    "outputs": {
                        "p_h": {"shape": ["batch", c.hidden]},
                        "free_energy": {"shape": ["batch"]},
                    },
                },
                "visible": {
                    **weights,
                    "architecture": "rbm-visible",
                    "onnx": {"path": "visible.onnx"},
                    "inputs": {"h": {"shape": ["batch", c.hidden]}},
                    "outputs": {"p_v": {"shape": ["batch", c.visible]}},
                },
            },
            "io": {"output": {"shape": [1, side, side], "range": [0.0, 1.0]}},
            "parameters": {"default_steps": 300, "initial_density": meta["density"]},
            "metrics": {"free_energy_gap_noise_minus_glyphs": meta["gap"]},
            "origin": origin(model_id, DATA_LICENCE, diff),
        },
    )


def build(
    out: Path,
    work: Path,
    minutes: float,
    max_steps: int | None = None,
    glyphs: np.ndarray | None = None,
    net: RBMConfig | None = None,
) -> Path:
    net = net or RBMConfig()
    work.mkdir(parents=True, exist_ok=True)
    glyphs = render_glyphs() if glyphs is None else glyphs
    loop = loop_config(minutes, max_steps, learning_rate=0.01, batch_size=64)
    start = time.monotonic()

    def on_progress(step: int, error: float, rbm: RBM) -> None:
        log.info("rbm step %d  reconstruction error %.4f", step, error)

    rbm, steps, gap = train_rbm(glyphs, net, loop, on_progress=on_progress)
    grid_image(gibbs_grid(rbm), 0, 1).save(work / "samples.png")
    meta = {
        "steps": steps,
        "minutes": (time.monotonic() - start) / 60,
        "gap": gap,
        "count": len(glyphs),
        "density": float(glyphs.mean()),
    }
    export_rbm(rbm, out, meta)
    log.info("exported %s: free-energy gap noise - glyphs %.1f", out, gap)
    return out

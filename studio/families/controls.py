"""Controls that several families share, declared once with their ranges and defaults."""

from __future__ import annotations

from studio.core.descriptor import Control

TEMPERATURE = Control(
    "temperature",
    "Temperature",
    0.05,
    2.0,
    1.0,
    step=0.05,
    tooltip="Scale of the prior draw: lower is cleaner, higher is wilder",
    default_key="default_temperature",
)
SAMPLING_TEMPERATURE = Control(
    "temperature",
    "Temperature",
    0.05,
    2.0,
    1.0,
    step=0.05,
    tooltip="Sharpness of each draw: lower is safer, higher is wilder",
    default_key="default_temperature",
)
DIFFUSION_STEPS = Control(
    "steps",
    "Steps",
    5,
    2000,
    25,
    integer=True,
    tooltip="DDIM steps: fewer is faster, more is finer",
    default_key="default_steps",
    samplers=("ddim",),
)
ETA = Control(
    "eta",
    "Stochasticity η",
    0.0,
    1.0,
    0.0,
    step=0.1,
    tooltip="0: deterministic DDIM; 1: as random as DDPM",
    default_key="default_eta",
    samplers=("ddim",),
)
GIBBS_SWEEPS = Control(
    "steps",
    "Gibbs sweeps",
    5,
    2000,
    300,
    integer=True,
    tooltip="Alternating updates of the hidden and visible units",
    default_key="default_steps",
)

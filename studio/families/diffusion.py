"""Diffusion family: the initial noise x_T is the latent (seeds, sliders, interpolation all
apply); a sampler turns it into a picture step by step, each step a preview and a
cancellation point. The network only predicts noise (studio/nets/unet.py)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

import numpy as np

from studio.backends.base import Session
from studio.core.descriptor import Capability, FamilyDescriptor, Sampler
from studio.core.errors import RequestError
from studio.core.manifest import Manifest
from studio.core.requests import ImageRequest
from studio.core.results import Progress
from studio.families.base import NO_CONTEXT, ImageJob, JobContext
from studio.families.controls import DIFFUSION_STEPS, ETA, TEMPERATURE
from studio.families.latent_image import LatentImageFamily
from studio.families.pixels import to_uint8
from studio.families.samplers.ddim import ddim_sample
from studio.families.samplers.ddpm import ddpm_sample
from studio.families.samplers.schedule import linear_betas


class DiffusionFamily(LatentImageFamily):
    descriptor = FamilyDescriptor(
        "diffusion",
        "image",
        ("unet",),
        frozenset({Capability.LATENT, Capability.TRUNCATION, Capability.STEP_PREVIEWS}),
        samplers=(
            Sampler("ddim", "DDIM (fast; deterministic at η 0)"),
            Sampler("ddpm", "DDPM (every training step)"),
        ),
        controls=(TEMPERATURE, DIFFUSION_STEPS, ETA),
        summary="denoises its initial noise (the latent) step by step",
    )
    decoder_network = "unet"

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        super().__init__(manifest, sessions)
        p = manifest.parameters
        self.betas = linear_betas(
            int(p.get("train_steps", 1000)),
            float(p.get("beta_start", 1e-4)),
            float(p.get("beta_end", 0.02)),
        )
        self.default_sampler = str(self.descriptor.default_sampler(p))
        self.default_steps = int(DIFFUSION_STEPS.default_for(p))

    def predict_noise(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return self.generator.run({"x": x, "t": t})["eps"]

    def generate(self, request: ImageRequest, context: JobContext = NO_CONTEXT) -> ImageJob:
        sampler = request.sampler or self.default_sampler
        names = self.descriptor.sampler_names
        if sampler not in names:
            raise RequestError(f"unknown sampler {sampler!r}; choose one of {', '.join(names)}")
        x_T = self.latents(request)
        # the sampler's own noise: one stream per cell, from the cell's seed, so that cell k
        # of a grid is the picture of seed + k (and of its noise alone) at any eta
        rngs = [np.random.default_rng([seed, 1]) for seed in self.cell_seeds(request)[: len(x_T)]]
        if sampler == "ddpm":
            steps = len(self.betas)
            job = ddpm_sample(self.predict_noise, x_T, self.betas, rngs, self.output_range)
        else:
            steps = min(request.steps or self.default_steps, len(self.betas))
            job = ddim_sample(
                self.predict_noise, x_T, self.betas, steps, request.eta, rngs, self.output_range
            )
        started = time.perf_counter()
        yield Progress(0.0, f"{sampler.upper()} step 0/{steps}")
        while True:
            try:
                done, _x, x0 = next(job)
            except StopIteration as finished:
                final = finished.value
                break
            pictures = to_uint8(np.clip(x0, -1, 1), self.output_range)
            partial = self.result(request, x_T, pictures, time.perf_counter() - started)
            partial = dataclasses.replace(
                partial, provenance=dataclasses.replace(partial.provenance, preview_step=done)
            )
            message = f"{sampler.upper()} step {done}/{steps}"
            yield Progress(done / steps, message, partial.pixels, done, partial)
        pictures = to_uint8(np.clip(final, -1, 1), self.output_range)
        return self.result(request, x_T, pictures, time.perf_counter() - started)

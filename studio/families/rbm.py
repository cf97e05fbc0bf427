"""RBM family: block Gibbs sampling, v -> h -> v, shown as the chain runs. A request's
`latent` may clamp visible units (0 or 1, -1 for free ones): the chain then completes them."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from studio.backends.base import Session
from studio.core.descriptor import Capability, FamilyDescriptor
from studio.core.errors import RequestError
from studio.core.manifest import Manifest
from studio.core.priors import MAX_SEED
from studio.core.requests import ImageRequest
from studio.core.results import EncodeResult, ImageResult, Progress
from studio.families.base import NO_CONTEXT, EncodeJob, ImageFamily, ImageJob, JobContext
from studio.families.controls import GIBBS_SWEEPS, SAMPLING_TEMPERATURE
from studio.families.pixels import tile

PREVIEW_EVERY = 5  # Gibbs sweeps between previews


class RbmFamily(ImageFamily):
    descriptor = FamilyDescriptor(
        "rbm",
        "image",
        ("hidden", "visible"),
        frozenset({Capability.COMPLETE, Capability.STEP_PREVIEWS}),
        controls=(SAMPLING_TEMPERATURE, GIBBS_SWEEPS),
        encode_label="Complete glyph…",
        summary="an energy model of binary pixels, sampled by Gibbs sweeps",
    )

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        super().__init__(manifest, sessions)
        self.hidden, self.visible = sessions["hidden"], sessions["visible"]
        self.units = self.hidden.spec.inputs[0].size(-1)
        self.side = round(self.units**0.5)
        self.default_steps = int(GIBBS_SWEEPS.default_for(manifest.parameters))
        self.density = float(manifest.parameters.get("initial_density", 0.2))

    def clamped(self, request: ImageRequest) -> np.ndarray:
        """(units,) float: 0/1 for clamped visible units, -1 for free ones."""
        if request.latent is None:
            return np.full(self.units, -1.0, np.float32)
        if len(request.latent) != self.units:
            raise RequestError(
                f"{self.manifest.id!r} clamps {self.units} units, got {len(request.latent)}"
            )
        return np.asarray(request.latent, np.float32)

    def sweep(self, v: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
        """One Gibbs sweep: returns p(v | h) after sampling h ~ p(h | v)."""
        p_h = self.hidden.run({"v": v})["p_h"]
        h = np.stack([(r.random(p.shape) < p) for r, p in zip(rngs, p_h, strict=True)])
        return self.visible.run({"h": h.astype(np.float32)})["p_v"]

    def generate(self, request: ImageRequest, context: JobContext = NO_CONTEXT) -> ImageJob:
        rows, cols = request.grid if request.latent is None else (1, 1)
        cells = rows * cols
        steps = request.steps or self.default_steps
        clamp = self.clamped(request)
        fixed = clamp >= 0
        rngs = [np.random.default_rng((request.seed + k) % (MAX_SEED + 1)) for k in range(cells)]
        v = np.stack([(r.random(self.units) < self.density) for r in rngs]).astype(np.float32)
        v[:, fixed] = clamp[fixed]
        p_v = v
        started = time.perf_counter()
        for step in range(1, steps + 1):
            p_v = self.sweep(v, rngs)
            p_v[:, fixed] = clamp[fixed]
            # temperature scales the logits of the visible draw: < 1 sharpens the glyph
            logits = np.log(np.clip(p_v, 1e-6, 1 - 1e-6) / np.clip(1 - p_v, 1e-6, 1))
            p_draw = 1.0 / (1.0 + np.exp(-logits / request.temperature))
            v = np.stack([(r.random(self.units) < p) for r, p in zip(rngs, p_draw, strict=True)])
            v = v.astype(np.float32)
            v[:, fixed] = clamp[fixed]
            preview = self.pixels(p_v, rows, cols) if step % PREVIEW_EVERY == 0 else None
            yield Progress(
                step / steps,
                f"Gibbs sweep {step}/{steps}",
                preview,
                step if preview is not None else None,
            )
        provenance = self.provenance(request, self.hidden)
        return ImageResult(
            self.pixels(p_v, rows, cols),
            v,
            provenance,
            time.perf_counter() - started,
            self.hidden.choice.fallback,
        )

    def pixels(self, p_v: np.ndarray, rows: int, cols: int) -> np.ndarray:
        """(B, units) probabilities -> tiled grey (H, W, 3) uint8, ink bright on dark."""
        grey = np.clip(np.rint(p_v * 255), 0, 255).astype(np.uint8)
        images = grey.reshape(-1, self.side, self.side, 1).repeat(3, axis=-1)
        return tile(images, rows, cols)

    def free_energy(self, v: np.ndarray) -> np.ndarray:
        return self.hidden.run({"v": v})["free_energy"]

    def encode(self, pixels: np.ndarray) -> EncodeJob:
        """Binarise a picture (ink = the minority tone), clamp its upper half for completion,
        and score it by free energy (lower: more like the training glyphs)."""
        started = time.perf_counter()
        yield Progress(0.0, "binarising")
        grey = pixels.astype(np.float32).mean(axis=-1)
        ink = grey < 128 if grey.mean() > 128 else grey >= 128  # dark ink on paper, or not
        v = ink.astype(np.float32).ravel()
        energy = float(self.free_energy(v[None])[0])
        clamp = v.copy()
        clamp[self.units // 2 :] = -1.0  # lower half free: the chain completes it
        binary = self.pixels(v[None], 1, 1)
        return EncodeResult(
            model_id=self.manifest.id,
            latent=clamp,
            model_input=pixels,
            reconstruction=binary,
            psnr=float("nan"),
            bits_per_dim=None,
            likelihood=f"free energy {energy:.1f} (unnormalised; lower is more glyph-like); "
            "lower half freed to complete",
            seconds=time.perf_counter() - started,
        )

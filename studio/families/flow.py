"""Normalizing-flow family: exact encoding (the inverse of sampling) and exact likelihood."""

from __future__ import annotations

import time

import numpy as np

from studio.core.descriptor import Capability, FamilyDescriptor
from studio.core.results import EncodeResult, Progress
from studio.families.base import EncodeJob
from studio.families.controls import TEMPERATURE
from studio.families.encoding import bits_per_dim, model_input, psnr, typicality
from studio.families.latent_image import LatentImageFamily
from studio.families.pixels import to_uint8


class FlowFamily(LatentImageFamily):
    descriptor = FamilyDescriptor(
        "flow",
        "image",
        ("encoder", "decoder"),
        frozenset(
            {Capability.LATENT, Capability.TRUNCATION, Capability.ENCODE, Capability.LIKELIHOOD}
        ),
        controls=(TEMPERATURE,),
        summary="an invertible network: exact encoding and exact likelihood",
    )
    decoder_network = "decoder"

    def encode(self, pixels: np.ndarray) -> EncodeJob:
        started = time.perf_counter()
        x = model_input(pixels, self.manifest)
        yield Progress(0.0, "encoding")
        out = self.sessions["encoder"].run({"image": x})
        z, log_density = out["z"], float(out["log_density"][0])
        yield Progress(0.5, "decoding")
        reconstruction = to_uint8(self.generator.run({"z": z})["image"], self.output_range)[0]
        bpd = bits_per_dim(-log_density, x.size, self.manifest.input_range or (-0.5, 0.5))
        return EncodeResult(
            model_id=self.manifest.id,
            latent=z[0].astype(np.float32),
            model_input=pixels,
            reconstruction=reconstruction,
            psnr=psnr(pixels, reconstruction),
            bits_per_dim=bpd,
            likelihood="exact",
            typicality=typicality(bpd, self.manifest.metrics.get("typical_bits_per_dim")),
            seconds=time.perf_counter() - started,
        )

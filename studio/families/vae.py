"""VAE family: decode latents like a GAN; encode a picture to its posterior mean, with the
ELBO (a lower bound on the likelihood) in bits per dimension."""

from __future__ import annotations

import math
import time

import numpy as np

from studio.core.descriptor import Capability, FamilyDescriptor
from studio.core.results import EncodeResult, Progress
from studio.families.base import EncodeJob
from studio.families.controls import TEMPERATURE
from studio.families.encoding import bits_per_dim, model_input, psnr
from studio.families.latent_image import LatentImageFamily
from studio.families.pixels import to_uint8


class VaeFamily(LatentImageFamily):
    descriptor = FamilyDescriptor(
        "vae",
        "image",
        ("encoder", "decoder"),
        frozenset(
            {Capability.LATENT, Capability.TRUNCATION, Capability.ENCODE, Capability.LIKELIHOOD}
        ),
        controls=(TEMPERATURE,),
        summary="an encoder and a decoder trained to reconstruct through a Gaussian latent",
    )
    decoder_network = "decoder"

    def encode(self, pixels: np.ndarray) -> EncodeJob:
        started = time.perf_counter()
        x = model_input(pixels, self.manifest)
        yield Progress(0.0, "encoding")
        out = self.sessions["encoder"].run({"image": x})
        mean, log_var = out["mean"], out["log_var"]
        yield Progress(0.5, "decoding")
        recon = self.generator.run({"z": mean})["image"]
        # -ELBO at the posterior mean (one point instead of an average over the posterior):
        # Gaussian reconstruction term with the decoder's calibrated sigma, plus analytic KL.
        sigma = float(self.manifest.parameters.get("decoder_sigma", 0.1))
        dims = x.size
        sq_error = float(((x - recon) ** 2).sum())
        nll = sq_error / (2 * sigma**2) + dims * (math.log(sigma) + 0.5 * math.log(2 * math.pi))
        kl = float(0.5 * (mean**2 + np.exp(log_var) - 1.0 - log_var).sum())
        value_range = self.manifest.input_range or (-1.0, 1.0)
        reconstruction = to_uint8(recon, self.output_range)[0]
        return EncodeResult(
            model_id=self.manifest.id,
            latent=mean[0].astype(np.float32),
            model_input=pixels,
            reconstruction=reconstruction,
            psnr=psnr(pixels, reconstruction),
            bits_per_dim=bits_per_dim(nll + kl, dims, value_range),
            likelihood="ELBO bound",
            seconds=time.perf_counter() - started,
        )

"""StyleGAN family (Karras et al. 2019, 2020): a mapping network turns (z, category) into a
style w; the synthesis network draws from one w per layer plus per-layer noise.

Everything artists do in its style space happens here, in numpy between the two networks:
- truncation (StyleGAN sec. 3.1): w' = w_avg + psi (w - w_avg) on the layers below a cutoff,
  toward the average style of the chosen category (psi 1: the untouched sample; 0: the
  category's average sprite);
- style mixing (sec. 3.1): the rows of ws for chosen layers come from another seed's w;
  coarse layers (4-8 px) carry shape, fine ones (32 px) colour;
- principal directions in w (GANSpace, Härkönen et al. 2020), moved before truncation;
- noise: fixed (the same for every seed) or drawn from each seed, scaled by a strength.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from studio.backends.base import Session
from studio.core.descriptor import Capability, Control, FamilyDescriptor
from studio.core.errors import ManifestError, ModelError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.priors import MAX_SEED, sample_prior
from studio.core.requests import ImageRequest
from studio.core.results import ImageResult, Progress
from studio.core.style_layers import layer_presets
from studio.families.base import NO_CONTEXT, ImageFamily, ImageJob, JobContext
from studio.families.controls import TEMPERATURE
from studio.families.pixels import tile, to_uint8
from studio.latent.directions import Directions

CHUNK = 64  # cells per session run: a cancellation point at least every chunk
NOISE_SEED = 0x5EED  # the fixed noise's own seed
REQUIRED = ("num_ws", "w_dim", "categories", "ws_resolutions", "num_noise", "w_avg_file")


class StyleGanFamily(ImageFamily):
    descriptor = FamilyDescriptor(
        "stylegan",
        "image",
        ("mapping", "synthesis"),
        frozenset({Capability.LATENT, Capability.STYLE_MIXING}),
        conditions=("category",),
        controls=(
            TEMPERATURE,
            Control("psi", "Truncation ψ", 0.0, 2.0, 1.0, 0.05,
                    tooltip="Toward the category's average style: 1 untouched, 0 the average",
                    default_key="default_psi"),
            Control("truncation_cutoff", "ψ on layers below", 0, 64, 64, integer=True,
                    tooltip="Truncate only the coarse layers (shape) and keep fine colour",
                    default_key="num_ws"),
            Control("noise", "Noise strength", 0.0, 2.0, 1.0, 0.05,
                    tooltip="Per-pixel detail noise: 0 removes it"),
        ),
        summary="a style-based generator: a style per layer, mixing and truncation in w",
    )  # fmt: skip

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        super().__init__(manifest, sessions)
        p = manifest.parameters
        self.mapping, self.synthesis = sessions["mapping"], sessions["synthesis"]
        self.z_dim = int(manifest.latent_shape[0]) if manifest.latent_shape else 0
        self.num_ws, self.w_dim = int(p["num_ws"]), int(p["w_dim"])
        self.categories = tuple(str(c) for c in p["categories"])
        self.ws_resolutions = tuple(int(r) for r in p["ws_resolutions"])
        self.num_noise = int(p["num_noise"])
        self.side = int(manifest.output_shape[-1]) if manifest.output_shape else 0
        self.output_range = manifest.output_range or (-1.0, 1.0)
        self.w_avg = _load_w_avg(manifest, len(self.categories), self.w_dim)
        self.directions = (
            Directions.load(manifest.directions_file, self.w_dim)
            if manifest.directions_file
            else None
        )

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> None:
        super().check_manifest(manifest)
        path = manifest.folder / MANIFEST_NAME
        for key in REQUIRED:
            if key not in manifest.parameters:
                raise ManifestError(path, f"parameters.{key}", "a StyleGAN model needs it")
        p = manifest.parameters
        if len(p["ws_resolutions"]) != int(p["num_ws"]):
            raise ManifestError(path, "parameters.ws_resolutions", "needs one entry per style")
        if manifest.latent_shape is None or manifest.output_shape is None:
            raise ManifestError(path, "io", "a StyleGAN model needs io.latent and io.output")

    @classmethod
    def direction_size(cls, manifest: Manifest) -> int | None:
        return int(manifest.parameters.get("w_dim", 0)) or None

    # -- the request in style space ---------------------------------------------------------
    def category_index(self, request: ImageRequest) -> int:
        if request.category is None:
            return 0
        if request.category not in self.categories:
            raise RequestError(
                f"model {self.manifest.id!r} has no category {request.category!r}; "
                f"it has {', '.join(self.categories)}"
            )
        return self.categories.index(request.category)

    def layer_presets(self) -> dict[str, tuple[int, ...]]:
        return layer_presets(self.ws_resolutions, self.side)

    def _z(self, seed: int, temperature: float) -> np.ndarray:
        return temperature * sample_prior(seed, (self.z_dim,), "normal", None)

    def _map(self, z: np.ndarray, category: int) -> np.ndarray:
        """(N, z_dim) -> (N, w_dim) styles of `category`."""
        labels = np.full(len(z), category, np.int64)
        return self.mapping.run({"z": z.astype(np.float32), "category": labels})["w"]

    def offset_vector(self, offsets: Mapping[str, float]) -> np.ndarray:
        total = np.zeros(self.w_dim, np.float32)
        if not offsets:
            return total
        if self.directions is None:
            raise RequestError(f"model {self.manifest.id!r} has no style directions")
        names = self.directions.names
        for name, value in offsets.items():
            if name not in names:
                raise RequestError(f"model {self.manifest.id!r} has no direction {name!r}")
            k = names.index(name)
            total += value * self.directions.scales[k] * self.directions.vectors[k]
        return total

    def styles(self, request: ImageRequest, z: np.ndarray) -> np.ndarray:
        """z (N, z_dim) -> ws (N, num_ws, w_dim): mapped, moved along the directions, mixed
        with `mix_seed`'s styles on `mix_layers`, then truncated toward the category's
        average style below the cutoff."""
        category = self.category_index(request)
        w = self._map(z, category) + self.offset_vector(request.offset_map)
        ws = np.repeat(w[:, None], self.num_ws, axis=1)  # (N, num_ws, w_dim)
        if request.mix_layers:
            if max(request.mix_layers) >= self.num_ws:
                raise RequestError(
                    f"mix_layers go up to {self.num_ws - 1} for {self.manifest.id!r}, "
                    f"got {max(request.mix_layers)}"
                )
            if request.mix_seed is not None:
                other = self._map(self._z(request.mix_seed, request.temperature)[None], category)
                ws[:, list(request.mix_layers)] = other[:, None]
        cutoff = self.num_ws if request.truncation_cutoff is None else request.truncation_cutoff
        cutoff = min(cutoff, self.num_ws)
        average = self.w_avg[category]
        ws[:, :cutoff] = average + request.psi * (ws[:, :cutoff] - average)
        return ws.astype(np.float32)

    def noise(self, request: ImageRequest, seeds: list[int]) -> np.ndarray:
        """(N, num_noise, side, side) standard normal x strength: one draw for all cells when
        fixed, else each cell's own from its seed."""
        shape = (self.num_noise, self.side, self.side)
        if request.fixed_noise:
            one = np.random.default_rng(NOISE_SEED).standard_normal(shape, np.float32)
            draws = np.repeat(one[None], len(seeds), axis=0)
        else:
            draws = np.stack(
                [np.random.default_rng([s, 2]).standard_normal(shape, np.float32) for s in seeds]
            )
        return (request.noise * draws).astype(np.float32)

    # -- the job ------------------------------------------------------------------------------
    def latents(self, request: ImageRequest) -> tuple[np.ndarray, list[int]]:
        """(cells, z_dim) and the cells' seeds: seed + k, or the request's explicit z."""
        if request.latent is not None:
            if len(request.latent) != self.z_dim:
                raise RequestError(
                    f"the latent has {len(request.latent)} values; {self.manifest.id!r} "
                    f"takes {self.z_dim}"
                )
            return np.asarray(request.latent, np.float32)[None], [request.seed]
        rows, cols = request.grid
        seeds = [(request.seed + k) % (MAX_SEED + 1) for k in range(rows * cols)]
        return np.stack([self._z(s, request.temperature) for s in seeds]), seeds

    def generate(self, request: ImageRequest, context: JobContext = NO_CONTEXT) -> ImageJob:
        started = time.perf_counter()
        z, seeds = self.latents(request)
        pictures = []
        for first in range(0, len(z), CHUNK):
            yield Progress(first / len(z), f"rendering {first}/{len(z)}")
            part = slice(first, first + CHUNK)
            ws = self.styles(request, z[part])
            rgba = self.synthesis.run({"ws": ws, "noise": self.noise(request, seeds[part])})
            pictures.append(to_uint8(rgba["rgba"], self.output_range))
        rows, cols = request.grid if request.latent is None else (1, 1)
        latent = () if request.latent is not None else tuple(float(v) for v in z[0])
        provenance = self.provenance(request, self.synthesis, latent)
        pixels = tile(np.concatenate(pictures), rows, cols)
        seconds = time.perf_counter() - started
        return ImageResult(pixels, z, provenance, seconds, self.synthesis.choice.fallback)


def _load_w_avg(manifest: Manifest, categories: int, w_dim: int) -> np.ndarray:
    """(categories, w_dim): each category's average style, from the file the manifest names
    (resolved inside the model folder)."""
    name = str(manifest.parameters["w_avg_file"])
    path = (manifest.folder / name).resolve()
    if manifest.folder.resolve() not in path.parents or not path.is_file():
        raise ModelError(f"{manifest.id}: parameters.w_avg_file {name!r} is not a file inside "
                         "the model folder")  # fmt: skip
    try:
        with np.load(path, allow_pickle=False) as data:
            table = np.asarray(data["per_category"], np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{path.name}: cannot read the average styles ({exc})") from exc
    if table.shape != (categories, w_dim):
        raise ModelError(
            f"{path.name}: average styles have shape {table.shape}, "
            f"expected ({categories}, {w_dim})"
        )
    return table

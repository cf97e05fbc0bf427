"""Fast arbitrary style transfer: AdaIN (Huang & Belongie 2017) with a trained decoder.

The bundled VGG-16 (`StyleFeaturesFamily`) encodes the photo and each style to relu4_1; AdaIN
gives the photo's features the styles' channel means and standard deviations (several styles
mix by weight: AdaIN is affine in the statistics, so mixing them equals mixing the results,
paper section 7.2); `strength` blends those features with the photo's own (section 7.1); the
decoder turns them back into a picture. All numpy over ONNX sessions, one pass per result, so
the strength slider can preview live. Encoded features are kept for the last few pictures, so
moving the slider runs the decoder alone.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image

from studio.backends.base import Session
from studio.core.descriptor import Control, FamilyDescriptor
from studio.core.errors import ManifestError, RequestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.results import ImageResult, Progress
from studio.core.style_request import StyleRequest
from studio.families.base import NO_CONTEXT, Family, ImageJob, JobContext
from studio.families.colour import keep_colours, match_colours
from studio.families.style_features import StyleFeaturesFamily

EPS = 1e-5  # as in training: the std of a flat channel is not zero
KEEP_FEATURES = 8  # encoded pictures remembered


def channel_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1, C, h, w) -> mean, std (C, 1, 1) over space; biased variance + EPS, as in training."""
    mean = features[0].mean(axis=(1, 2), keepdims=True)
    std = np.sqrt(features[0].var(axis=(1, 2), keepdims=True) + EPS)
    return mean, std


def adain_target(
    content: np.ndarray,
    styles: Sequence[tuple[np.ndarray, np.ndarray, float]],
    strength: float,
) -> npt.NDArray[np.float32]:
    """content (1, C, h, w) features; styles as (mean, std, weight) with weights summing to 1
    -> strength * AdaIN(content, the mixed statistics) + (1 - strength) * content."""
    mean = sum(weight * m for m, _, weight in styles)
    std = sum(weight * s for _, s, weight in styles)
    content_mean, content_std = channel_statistics(content)
    stylised = std * (content[0] - content_mean) / content_std + mean
    blended = strength * stylised + (1.0 - strength) * content[0]  # (C, h, w)
    target: npt.NDArray[np.float32] = blended[None].astype(np.float32)
    return target


class AdainFamily(Family):
    descriptor = FamilyDescriptor(
        "adain",
        "style",
        ("decoder",),
        controls=(Control("strength", "Strength", 0.0, 1.0, 1.0, 0.05),),
        summary="fast style transfer: a decoder of VGG features with the styles' statistics",
        extra={"method": "fast"},
    )

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        super().__init__(manifest, sessions)
        parameters = manifest.parameters
        self.encoder_model = str(parameters["encoder_model"])
        self.encoder_output = str(parameters.get("encoder_output", "relu4_1"))
        self.multiple = int(parameters.get("size_multiple", 8))
        self._features: OrderedDict[Hashable, np.ndarray] = OrderedDict()

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> None:
        super().check_manifest(manifest)
        if "encoder_model" not in manifest.parameters:
            raise ManifestError(
                manifest.folder / MANIFEST_NAME,
                "parameters.encoder_model",
                "an AdaIN decoder names the feature network it decodes",
            )

    @classmethod
    def companions(cls, manifest: Manifest) -> Mapping[str, str]:
        return {"encoder": str(manifest.parameters["encoder_model"])}

    def generate(self, request: StyleRequest, context: JobContext = NO_CONTEXT) -> ImageJob:
        if request.method != "fast":
            raise RequestError(f"{self.manifest.id} is the fast method; {request.method} needs "
                               "a feature network")  # fmt: skip
        encoder = context.companion("encoder")
        if not isinstance(encoder, StyleFeaturesFamily):
            raise RequestError(f"model {self.encoder_model!r} is not a feature network")
        content, styles = context.picture("content"), context.pictures.get("style", ())
        return (yield from fast_stylize(encoder, self, request, content, styles))

    def encode(self, encoder: StyleFeaturesFamily, key: Hashable, pixels: np.ndarray) -> np.ndarray:
        """relu4_1 of a picture (H, W, 3) uint8, remembered under `key` for the next calls."""
        if key in self._features:
            self._features.move_to_end(key)
            return self._features[key]
        features = encoder.features(pixels)[self.encoder_output]
        self._features[key] = features
        while len(self._features) > KEEP_FEATURES:
            self._features.popitem(last=False)
        return features

    def decode(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(1, C, h, w) -> picture (8h, 8w, 3) float32 in [0, 1]."""
        session = self.sessions["decoder"]
        image = session.run({session.spec.inputs[0].name: features})
        picture: npt.NDArray[np.float32] = next(iter(image.values()))[0].transpose(1, 2, 0)
        return np.clip(picture, 0.0, 1.0)


def to_multiple(pixels: np.ndarray, multiple: int) -> np.ndarray:
    """Resize (H, W, 3) uint8 so both sides are multiples of `multiple` (nearest, at least
    2 multiples): the decoder's output is 8x its input, so the result keeps the size."""
    height, width = pixels.shape[:2]
    size = tuple(max(2 * multiple, round(side / multiple) * multiple) for side in (width, height))
    if size == (width, height):
        return pixels
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC))


def fast_stylize(
    encoder: StyleFeaturesFamily,
    decoder: AdainFamily,
    request: StyleRequest,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
) -> ImageJob:
    """content (H, W, 3) uint8 and one picture per `request.styles()` -> the stylised
    picture at the content's size. Encoding is a cancellation point; decoding is one pass."""
    started = time.perf_counter()
    photo = to_multiple(content, decoder.multiple)
    photo_float = photo.astype(np.float32) / 255.0
    content_features = decoder.encode(encoder, ("content", request.content_sha256, photo.shape),
                                      photo)  # fmt: skip
    statistics = []
    for (_, sha256, weight), pixels in zip(request.styles(), styles, strict=True):
        match = request.keep_colors and request.color_method == "match"
        if match:
            pixels = match_colours(pixels, photo)
        key = ("style", sha256, pixels.shape, request.content_sha256 if match else None)
        statistics.append((*channel_statistics(decoder.encode(encoder, key, pixels)), weight))
        yield Progress(0.5, "encoding the styles", None, 0, None)
    target = adain_target(content_features, statistics, request.strength)
    picture = decoder.decode(target)
    if request.keep_colors and request.color_method == "luminance":
        picture = keep_colours(picture, photo_float)
    pixels = (picture * 255).round().astype(np.uint8)
    if pixels.shape[:2] != content.shape[:2]:
        size = (content.shape[1], content.shape[0])
        pixels = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC))
    provenance = decoder.provenance(request, decoder.sessions["decoder"])
    return ImageResult(
        pixels, np.zeros((1, 0), np.float32), provenance, time.perf_counter() - started
    )

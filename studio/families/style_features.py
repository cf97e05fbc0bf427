"""A frozen feature network for style transfer (VGG-16 up to relu4_1).

It makes nothing by itself: the style methods read its activations, the channel statistics
(AdaIN) or Gram matrices (Gatys et al.) of relu1_1 .. relu4_1 for a style and relu4_1 for the
content.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from studio.core.descriptor import Capability, Control, FamilyDescriptor
from studio.core.errors import RequestError
from studio.core.results import ImageResult, Progress
from studio.core.style_request import StyleRequest
from studio.families.base import NO_CONTEXT, Family, ImageJob, JobContext
from studio.families.colour import keep_colours, match_colours


class StyleFeaturesFamily(Family):
    descriptor = FamilyDescriptor(
        "vgg-features",
        "style",
        ("features",),
        capabilities=frozenset({Capability.STEP_PREVIEWS}),
        controls=(
            Control("strength", "Strength", 0.0, 100.0, 1.0, 0.1),
            Control("iterations", "Iterations", 1, 5000, 150, integer=True),
        ),
        summary="a frozen feature network; style by optimising the picture (Gatys et al.)",
        requires_backend="torch",
        extra={"method": "optimize"},
    )

    def generate(self, request: StyleRequest, context: JobContext = NO_CONTEXT) -> ImageJob:
        styles = context.pictures.get("style", ())
        if len(styles) > 1:
            raise RequestError("blending styles works with the fast method only, for now")
        return (
            yield from stylize(self, request, context.picture("content"), context.picture("style"))
        )

    def features(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        """pixels (H, W, 3) uint8 -> {layer: (1, C, h, w) float32 activations}."""
        session = self.sessions["features"]
        image = pixels.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        return session.run({session.spec.inputs[0].name: image})


def stylize(
    family: StyleFeaturesFamily,
    request: StyleRequest,
    content: np.ndarray,
    style: np.ndarray,
) -> ImageJob:
    """content, style (H, W, 3) uint8 at their working sizes -> the stylised picture, with a
    preview at every iteration (each is a cancellation point). Longer sides above 512 px go
    coarse-to-fine (torch_style.stages); previews always have the content's size and count
    iterations over all stages."""
    from studio.backends.torch_style import optimize_coarse_to_fine

    if request.method != "optimize":
        raise RequestError(f"{family.manifest.id} optimises; the fast method needs an AdaIN model")
    started = time.perf_counter()
    photo = content.astype(np.float32) / 255.0
    match = request.keep_colors and request.color_method == "match"
    if match:  # the style recoloured first: the optimisation then keeps the photo's colours
        style = match_colours(style, content)
    session = family.sessions["features"]
    steps = optimize_coarse_to_fine(
        session,
        photo,
        style.astype(np.float32) / 255.0,
        10.0 * request.strength,
        request.iterations,
        request.seed,
    )
    provenance = family.provenance(request, session)  # the device that really ran

    def finish(picture: np.ndarray, iteration: int | None) -> ImageResult:
        if request.keep_colors and not match:
            picture = keep_colours(picture, photo)
        pixels = (picture * 255).round().astype(np.uint8)
        step = replace(provenance, preview_step=iteration)
        return ImageResult(
            pixels, np.zeros((1, 0), np.float32), step, time.perf_counter() - started
        )

    while True:
        try:
            iteration, loss, picture = next(steps)
        except StopIteration as done:
            return finish(done.value, None)
        partial = finish(picture, iteration)
        message = f"iteration {iteration}/{request.iterations}, loss {loss:.3g}"
        yield Progress(iteration / request.iterations, message, partial.pixels, iteration, partial)

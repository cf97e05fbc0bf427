"""`python -m studio.training MODEL_ID`: rebuild a bundled model from its data.

Never imported by the app. Each recipe trains through the one loop (loop.py) and writes
models/MODEL_ID/ (weights, and manifest.toml with sha256s, train command and data licence,
through manifest_writer.py); previews and checkpoints go to runs/MODEL_ID/. `--minutes` and
`--steps` are totals over a run and every run it resumes: `--resume --minutes 90` after a
40-minute run trains 50 minutes more.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from studio.core.bundled import REPOSITORY
from studio.training import (
    adain,
    diffusion,
    flow_emoji,
    gan_emoji,
    gpt_text,
    pixelcnn,
    rbm,
    vae_emoji,
    vgg_features,
    wavenet_notes,
)
from studio.training.loop import Run

Recipe = Callable[[Path, Run], Path]  # build(out, run) -> out


def legacy(build: Callable[..., Path]) -> Recipe:
    """Adapt a recipe written as build(out, work, minutes, max_steps, resume=...)."""

    def adapted(out: Path, run: Run) -> Path:
        return build(out, run.work, run.minutes, run.max_steps, resume=run.resume)

    return adapted


def registry(entries: Iterable[tuple[str, Recipe]]) -> dict[str, Recipe]:
    """model id -> recipe; raises ValueError on a duplicate id."""
    recipes: dict[str, Recipe] = {}
    for model_id, build in entries:
        if model_id in recipes:
            raise ValueError(f"two recipes for {model_id!r}")
        recipes[model_id] = build
    return recipes


RECIPES = registry(
    [
        (gan_emoji.MODEL_ID, gan_emoji.build),
        (vae_emoji.MODEL_ID, vae_emoji.build),
        (flow_emoji.MODEL_ID, flow_emoji.build),
        (diffusion.MODEL_ID, diffusion.build),
        (pixelcnn.MODEL_ID, pixelcnn.build),
        (rbm.MODEL_ID, rbm.build),
        (gpt_text.MODEL_ID, gpt_text.build),
        (wavenet_notes.MODEL_ID, wavenet_notes.build),
        (vgg_features.MODEL_ID, vgg_features.build),
        (adain.MODEL_ID, adain.build),
        # stylegan-sprites-32 goes here: (stylegan_sprites.MODEL_ID, stylegan_sprites.build),
        # or legacy(stylegan_sprites.build) while it keeps the (out, work, minutes, ...) form
    ]
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.training", description=__doc__)
    parser.add_argument("model", choices=sorted(RECIPES))
    parser.add_argument("--minutes", type=float, default=40.0, help="training time budget")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    parser.add_argument("--out", type=Path, default=None, help="default: models/MODEL")
    parser.add_argument("--seed", type=int, default=0, help="seeds every random generator")
    parser.add_argument(
        "--resume", action="store_true", help="continue from runs/MODEL/checkpoint.*"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = args.out or REPOSITORY / "models" / args.model
    work = REPOSITORY / "runs" / args.model
    RECIPES[args.model](out, Run(work, args.minutes, args.steps, args.resume, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

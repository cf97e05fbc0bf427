"""`python -m studio.training MODEL_ID`: rebuild a bundled model from its data.

Never imported by the app. Each recipe writes models/MODEL_ID/ (weights, manifest.toml with
sha256s, train command and data licence); previews and checkpoints go to runs/MODEL_ID/.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from studio.training import (
    adain,
    diffusion,
    encoder_recipes,
    gan_emoji,
    gpt_text,
    pixelcnn,
    rbm,
    vgg_features,
    wavenet_notes,
)

REPO = Path(__file__).resolve().parents[2]
RECIPES: dict[str, Callable[..., Path]] = {
    gan_emoji.MODEL_ID: gan_emoji.build,
    encoder_recipes.VAE_ID: encoder_recipes.build_vae,
    encoder_recipes.FLOW_ID: encoder_recipes.build_flow,
    diffusion.MODEL_ID: diffusion.build,
    pixelcnn.MODEL_ID: pixelcnn.build,
    rbm.MODEL_ID: rbm.build,
    gpt_text.MODEL_ID: gpt_text.build,
    wavenet_notes.MODEL_ID: wavenet_notes.build,
    vgg_features.MODEL_ID: vgg_features.build,
    adain.MODEL_ID: adain.build,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.training", description=__doc__)
    parser.add_argument("model", choices=sorted(RECIPES))
    parser.add_argument("--minutes", type=float, default=40.0, help="training time budget")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    parser.add_argument("--out", type=Path, default=None, help="default: models/MODEL")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from runs/MODEL/checkpoint.safetensors (diffusion, gpt, wavenet)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = args.out or REPO / "models" / args.model
    extra = {"resume": True} if args.resume else {}
    RECIPES[args.model](out, REPO / "runs" / args.model, args.minutes, args.steps, **extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

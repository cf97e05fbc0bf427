"""`studio generate` options for conditional and style-space models (StyleGAN): the category,
truncation toward the average style, style mixing by layer, and the noise inputs."""

from __future__ import annotations

import argparse
from typing import Any

PRESETS = ("coarse", "middle", "fine")


def layers(text: str) -> tuple[int, ...] | str:
    """`0,1,2`, `0-3` or a preset name (coarse, middle, fine: resolved by the model)."""
    if text in PRESETS:
        return text
    picked: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.partition("-")
            picked += range(int(low), int(high or low) + 1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected layer numbers like 0,1 or 0-3, or one of {', '.join(PRESETS)}"
        ) from exc
    return tuple(picked)


def add_arguments(gen: argparse.ArgumentParser) -> None:
    group = gen.add_argument_group("style-space models (StyleGAN)")
    group.add_argument("--category", help="the class to draw, e.g. monster (see `studio models`)")
    group.add_argument(
        "--psi", type=float, help="truncation toward the average style: 1 untouched, 0 average"
    )
    group.add_argument(
        "--cutoff",
        dest="truncation_cutoff",
        type=int,
        help="apply --psi only to style layers below this (default: all)",
    )
    group.add_argument("--mix-seed", type=int, help="the seed whose styles replace --mix-layers")
    group.add_argument(
        "--mix-layers",
        type=layers,
        metavar="LAYERS",
        help="style layers taken from --mix-seed: 0,1 or 0-3, or coarse, middle, fine",
    )
    group.add_argument("--noise", type=float, help="noise strength (default 1; 0 removes it)")
    group.add_argument(
        "--redraw-noise",
        dest="fixed_noise",
        action="store_false",
        default=None,
        help="draw the noise from each seed instead of keeping it fixed",
    )


def settings(args: argparse.Namespace, presets: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """The request fields given on the command line (a preset name resolved by `presets`)."""
    names = ("category", "psi", "truncation_cutoff", "mix_seed", "noise", "fixed_noise")
    chosen: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    mix = args.mix_layers
    if mix is not None:
        chosen["mix_layers"] = presets.get(mix, ()) if isinstance(mix, str) else mix
    return chosen

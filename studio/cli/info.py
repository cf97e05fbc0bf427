"""`studio info`: print the settings stored in an exported picture, text or sound."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli import modalities, options


def add_parser(verbs: options.Verbs) -> None:
    info = verbs.add_parser("info", help="print the settings stored in an exported file")
    info.add_argument("file", type=Path)


def run(args: argparse.Namespace) -> int:
    provenance = modalities.for_file(args.file).read_provenance(args.file)
    if provenance is None:
        print(f"{args.file}: no Latent Studio settings stored")
        return 1
    data = provenance.to_dict()
    data.pop("latent")
    request = data.pop("request")
    if len(request.get("prompt", "")) > 60:
        request["prompt"] = request["prompt"][:60] + "…"
    if request.get("latent") is not None:
        request["latent"] = f"{len(request['latent'])} values (an encoded picture)"
    request["ran_on"] = f"{data.pop('backend')} / {data.pop('provider')}"
    for key, value in {**request, **data}.items():
        print(f"{key:<14} {value}")
    return 0

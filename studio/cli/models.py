"""`studio models`: the bundled and user models, one line each (a broken one says why)."""

from __future__ import annotations

import argparse

from studio.cli import options
from studio.core.catalog import Catalog


def add_parser(verbs: options.Verbs) -> None:
    verbs.add_parser("models", help="list bundled and user models")


def run(args: argparse.Namespace) -> int:
    catalog = Catalog()
    if not catalog.entries:
        print("no models found")
        return 0
    print(f"{'id':<24} {'family':<10} {'modality':<9} {'backends':<12} {'size':>8}  source")
    for entry in catalog.entries:
        m = entry.manifest
        if m is None:
            print(f"{entry.folder.name:<24} BROKEN: {entry.error}")
            continue
        size = f"{m.size_bytes / 1e6:.1f} MB"
        print(
            f"{m.id:<24} {m.family:<10} {m.modality:<9} {','.join(m.backends):<12} "
            f"{size:>8}  {entry.source}"
        )
    return 0

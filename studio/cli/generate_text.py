"""`studio generate` for text models: a prompt in, a .txt / .md with its settings out."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli import options
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.core.provenance import Provenance
from studio.core.text_request import TextRequest
from studio.engine.run import run_to_completion
from studio.media.text import TEXT_SUFFIXES, read_text, write_text

TEXT_SETTINGS = ("temperature", "top_k", "top_p", "repetition_penalty", "max_tokens")


def add_arguments(gen: argparse.ArgumentParser) -> None:
    text = gen.add_argument_group("text models")
    text.add_argument("--prompt", default=None, help="text to continue (default: the model's)")
    text.add_argument("--max-tokens", type=int, default=None, help="new tokens (default 200)")
    text.add_argument("--top-k", type=int, default=None, help="keep the k likeliest tokens")
    text.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass, 0-1")
    text.add_argument("--repetition-penalty", type=float, default=None, help="1 = off")
    text.add_argument(
        "--no-cache", action="store_true", help="recompute the context for every token"
    )


def owns(path: Path) -> bool:
    return path.suffix.lower() in TEXT_SUFFIXES


def read_provenance(path: Path) -> Provenance | None:
    return read_text(path)[1]


def generate(args: argparse.Namespace, catalog: Catalog) -> int:
    from studio.engine.runtime import ModelRuntime

    if not owns(args.out):
        raise RequestError(f"a text model writes {' or '.join(TEXT_SUFFIXES)}, not {args.out.name}")
    runtime = ModelRuntime(catalog)
    stored = None
    if args.source is not None:
        _, stored = read_text(args.source)
        if stored is None or not isinstance(stored.request, TextRequest):
            raise MediaError(f"{args.source}: carries no Latent Studio text settings")
        request = stored.request
    else:
        settings: dict[str, object] = {
            **options.base_settings(args),
            "use_cache": not args.no_cache,
            **options.given(args, ("prompt", *TEXT_SETTINGS)),
        }
        request = runtime.default_text_request(args.model, **settings)
    result = run_to_completion(runtime.text_job(request))
    provenance = result.provenance
    options.warn_if_changed(stored, provenance, request.model_id, args.source, "the text")
    write_text(args.out, result.text, provenance, overwrite=args.overwrite)
    print(
        f"wrote {args.out} ({result.tokens} tokens, {options.ran_on(provenance)}, "
        f"{result.tokens_per_second:.0f} tokens/s)"
    )
    return 0

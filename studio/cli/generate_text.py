"""`studio generate` for text models: a prompt in, a .txt / .md with its settings out."""

from __future__ import annotations

import argparse
import sys

from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.core.text_request import TextRequest
from studio.engine.run import run_to_completion
from studio.media.text import TEXT_SUFFIXES, read_text, write_text

TEXT_SETTINGS = ("temperature", "top_k", "top_p", "repetition_penalty", "max_tokens")


def add_text_arguments(gen: argparse.ArgumentParser) -> None:
    text = gen.add_argument_group("text models")
    text.add_argument("--prompt", default=None, help="text to continue (default: the model's)")
    text.add_argument("--max-tokens", type=int, default=None, help="new tokens (default 200)")
    text.add_argument("--top-k", type=int, default=None, help="keep the k likeliest tokens")
    text.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass, 0-1")
    text.add_argument("--repetition-penalty", type=float, default=None, help="1 = off")
    text.add_argument(
        "--no-cache", action="store_true", help="recompute the context for every token"
    )


def is_text_source(path) -> bool:
    return path.suffix.lower() in TEXT_SUFFIXES


def generate_text(args: argparse.Namespace, catalog: Catalog) -> int:
    from studio.engine.runtime import ModelRuntime

    if not is_text_source(args.out):
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
            "seed": args.seed,
            "backend": args.backend,
            "device": args.device,
            "use_cache": not args.no_cache,
        }
        if args.prompt is not None:
            settings["prompt"] = args.prompt
        for name in TEXT_SETTINGS:
            if getattr(args, name) is not None:
                settings[name] = getattr(args, name)
        request = runtime.default_text_request(args.model, **settings)
    result = run_to_completion(runtime.text_job(request))
    if stored is not None and stored.model_sha256 != result.provenance.model_sha256:
        print(
            f"studio: warning: {request.model_id} changed since {args.source.name} was made; "
            "the text may differ",
            file=sys.stderr,
        )
    write_text(args.out, result.text, result.provenance, overwrite=args.overwrite)
    provenance = result.provenance
    print(
        f"wrote {args.out} ({result.tokens} tokens, {provenance.backend}/{provenance.provider}, "
        f"{result.tokens_per_second:.0f} tokens/s)"
    )
    return 0

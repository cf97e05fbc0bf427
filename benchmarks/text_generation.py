"""Text generation speed: tokens per second with and without the KV cache, per backend.

    python benchmarks/text_generation.py [--model gpt-kjv] [--tokens 400] [--threads 2]

Budget (DESIGN.md §7): >= 300 tokens/s with the cache, and >= 5x the speed without it.
Each number is the best of three runs after a warm-up run; greedy decoding, so every run
draws the same tokens.
"""

from __future__ import annotations

import argparse

from studio.core.catalog import Catalog
from studio.core.text_request import TextRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import DeviceSettings, ModelRuntime


def tokens_per_second(runtime: ModelRuntime, request: TextRequest) -> float:
    run_to_completion(runtime.text_job(request))  # warm-up: load, allocate
    return max(run_to_completion(runtime.text_job(request)).tokens_per_second for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="gpt-kjv")
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    runtime = ModelRuntime(Catalog())
    runtime.settings = DeviceSettings("cpu", args.threads)
    prompt = "And it came to pass"
    print(f"{args.model}: {args.tokens} new tokens after a {len(prompt)}-byte prompt, greedy")
    print(f"{'backend':<8} {'cached tok/s':>13} {'uncached tok/s':>15} {'ratio':>7}")
    for backend in ("onnx", "torch"):
        common = {"prompt": prompt, "max_tokens": args.tokens, "temperature": 0.0}
        cached = tokens_per_second(runtime, TextRequest(args.model, backend=backend, **common))
        uncached = tokens_per_second(
            runtime, TextRequest(args.model, backend=backend, use_cache=False, **common)
        )
        print(f"{backend:<8} {cached:>13.0f} {uncached:>15.0f} {cached / uncached:>6.1f}x")
    print("budget: >= 300 tokens/s cached, >= 5x uncached")


if __name__ == "__main__":
    main()

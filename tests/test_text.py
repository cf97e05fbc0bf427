"""Text generation: sampling knobs, the KV cache, seeds, stopping, files and the CLI.

Runs on a tiny untrained GPT exported by the real exporter (block of 32 bytes, so a hundred
tokens cross several context jumps); the bundled model's contract is in
test_bundled_models.py.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from studio.cli import main
from studio.core.catalog import Catalog
from studio.core.errors import MediaError, RequestError
from studio.core.text_request import TextRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.engine.scheduler import Engine
from studio.families.gpt import context_start
from studio.families.token_sampling import next_token, token_probabilities
from studio.media.text import read_text, write_text


@pytest.fixture(scope="module")
def runtime(tiny_gpt_folder: Path) -> ModelRuntime:
    return ModelRuntime(Catalog([(tiny_gpt_folder.parent, "user")]))


def generate(runtime: ModelRuntime, **settings) -> str:
    request = TextRequest("tiny-gpt", **{"prompt": "In the", "max_tokens": 100, **settings})
    return run_to_completion(runtime.text_job(request)).completion


# -- sampling knobs ----------------------------------------------------------------------------
def test_top_k_one_and_temperature_zero_are_greedy() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        logits = rng.standard_normal(256).astype(np.float32) * 3
        best = int(np.argmax(logits))
        for request in (
            TextRequest("m", temperature=0.0),
            TextRequest("m", temperature=1.5, top_k=1),
        ):
            assert next_token(logits, np.array([], int), request, rng) == best


def test_top_k_and_top_p_keep_only_the_likeliest_tokens() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    top2 = token_probabilities(logits, TextRequest("m", temperature=1.0, top_k=2))
    np.testing.assert_allclose(top2, [0.625, 0.375, 0, 0])
    nucleus = token_probabilities(logits, TextRequest("m", temperature=1.0, top_p=0.7))
    np.testing.assert_allclose(nucleus, [0.625, 0.375, 0, 0])  # 0.5 < 0.7 <= 0.8
    everything = token_probabilities(logits, TextRequest("m", temperature=1.0))
    np.testing.assert_allclose(everything, [0.5, 0.3, 0.15, 0.05])


def test_repetition_penalty_makes_seen_tokens_less_likely() -> None:
    logits = np.array([2.0, 2.0, -1.0, -1.0])
    seen = np.array([0, 2])
    plain = TextRequest("m", temperature=1.0)
    penalised = TextRequest("m", temperature=1.0, repetition_penalty=2.0)
    rng = np.random.default_rng(0)
    counts = np.bincount(
        [next_token(logits, seen, penalised, rng) for _ in range(2000)], minlength=4
    )
    assert counts[1] > 2 * counts[0] and counts[3] > 2 * counts[2]
    assert np.bincount([next_token(logits, seen, plain, rng) for _ in range(2000)])[0] > 700


def test_context_jumps_keep_the_window_within_the_block() -> None:
    for length in range(1, 300):
        start = context_start(length, 32)
        assert 0 < length - start <= 32 and start % 8 == 0
        assert start >= context_start(length - 1, 32)


def test_requests_are_validated_and_round_trip() -> None:
    request = TextRequest("m", prompt="Hé", seed=9, top_k=5, top_p=0.9, repetition_penalty=1.2)
    assert TextRequest.from_dict(request.to_dict()) == request
    for bad in ({"temperature": -1}, {"top_p": 0.0}, {"max_tokens": 0}, {"top_k": -2}):
        with pytest.raises(RequestError):
            TextRequest("m", **bad)


# -- the family on a real (tiny) model ---------------------------------------------------------
def test_same_seed_same_text_and_seeds_differ(runtime: ModelRuntime) -> None:
    first = generate(runtime, seed=1, temperature=1.0)
    assert first == generate(runtime, seed=1, temperature=1.0)
    assert first != generate(runtime, seed=2, temperature=1.0)


def test_greedy_decoding_is_identical_with_and_without_the_cache(runtime: ModelRuntime) -> None:
    # 100 bytes through a 32-byte window: the cached path re-primes at every context jump
    cached = generate(runtime, temperature=0.0, max_tokens=100)
    assert cached == generate(runtime, temperature=0.0, max_tokens=100, use_cache=False)
    assert cached == generate(runtime, temperature=0.0, top_k=1)
    torch_cached = generate(runtime, temperature=0.0, max_tokens=100, backend="torch")
    assert torch_cached == cached


def test_sampling_with_and_without_the_cache_agrees(runtime: ModelRuntime) -> None:
    settings = {"seed": 5, "temperature": 0.9, "top_p": 0.9, "max_tokens": 80}
    assert generate(runtime, **settings) == generate(runtime, use_cache=False, **settings)


def test_partial_results_reproduce_what_was_streamed(runtime: ModelRuntime) -> None:
    request = TextRequest("tiny-gpt", prompt="In the", seed=4, temperature=1.0, max_tokens=60)
    job = runtime.text_job(request)
    reports = [next(job) for _ in range(25)]
    job.close()
    # one report per token, each saying exactly how far the 60 tokens have come
    assert [p.fraction for p in reports] == [k / 60 for k in range(1, 26)]
    assert [p.partial.tokens for p in reports] == list(range(1, 26))
    assert reports[-1].message == "25/60 tokens"
    partial = reports[-1].partial
    assert partial.tokens == 25 and partial.request.max_tokens == 25
    again = run_to_completion(runtime.text_job(partial.request))
    assert again.completion == partial.completion
    assert partial.provenance.model_sha256 == again.provenance.model_sha256


def test_an_image_model_is_refused_for_text(tiny_gan_folder: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    shutil.copytree(tiny_gan_folder, root / "tiny-gan")
    runtime = ModelRuntime(Catalog([(root, "user")]))
    with pytest.raises(RequestError, match="not text"):
        run_to_completion(runtime.text_job(TextRequest("tiny-gan")))


class Recorder:
    def __init__(self) -> None:
        self.progress: list[float] = []
        self.results: list[object] = []
        self.first_token = threading.Event()
        self.cancelled = threading.Event()
        self.cancelled_at = 0.0

    def on_progress(self, ticket, progress) -> None:
        self.progress.append(time.perf_counter())
        self.first_token.set()

    def on_result(self, ticket, result) -> None:
        self.results.append(result)

    def on_error(self, ticket, error) -> None:
        self.results.append(error)

    def on_cancelled(self, ticket) -> None:
        self.cancelled_at = time.perf_counter()
        self.cancelled.set()


def test_stop_ends_a_stream_at_the_next_token(runtime: ModelRuntime) -> None:
    engine = Engine()
    try:
        recorder = Recorder()
        request = TextRequest("tiny-gpt", max_tokens=8000, use_cache=False)
        ticket = engine.submit_batch(lambda: runtime.text_job(request), recorder)
        assert recorder.first_token.wait(10)
        asked = time.perf_counter()
        engine.cancel(ticket)
        cancel_set = time.perf_counter()
        assert recorder.cancelled.wait(5)
        assert recorder.results == []
        assert recorder.cancelled_at - asked < 0.25  # the bound; a token takes ~1 ms
        # the worker checks the token before each report: only one already past it may follow
        assert sum(t > cancel_set for t in recorder.progress) <= 1
    finally:
        engine.shutdown()


# -- files and the command line ----------------------------------------------------------------
def test_text_export_round_trip(runtime: ModelRuntime, tmp_path: Path) -> None:
    request = TextRequest("tiny-gpt", prompt="Once", seed=7, temperature=0.7, max_tokens=30)
    result = run_to_completion(runtime.text_job(request))
    path = tmp_path / "story.md"
    write_text(path, result.text, result.provenance)
    text, provenance = read_text(path)
    assert text == result.text and provenance == result.provenance
    assert path.read_text(encoding="utf-8").startswith("---\nlatent-studio: {")
    with pytest.raises(MediaError, match="already exists"):
        write_text(path, "other", result.provenance)
    assert read_text(path)[0] == result.text  # nothing lost


def test_plain_and_bad_text_files(tmp_path: Path) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("---\njust a rule\n---\nand prose", encoding="utf-8")
    assert read_text(plain) == ("---\njust a rule\n---\nand prose", None)
    latin1 = tmp_path / "old.txt"
    latin1.write_bytes("café".encode("latin-1"))
    with pytest.raises(MediaError, match="not UTF-8"):
        read_text(latin1)
    broken = tmp_path / "broken.md"
    broken.write_text("---\nlatent-studio: {not json\n---\nx", encoding="utf-8")
    with pytest.raises(MediaError, match="not valid JSON"):
        read_text(broken)
    with pytest.raises(MediaError, match="no such file"):
        read_text(tmp_path / "missing.md")


def test_cli_generates_text_and_reproduces_it_from_the_file(
    tiny_gpt_folder: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("LATENT_STUDIO_MODELS", str(tiny_gpt_folder.parent))
    first, second = tmp_path / "story.md", tmp_path / "again.txt"
    args = ["--model", "tiny-gpt", "--prompt", "Lo", "--max-tokens", "40", "--seed", "3"]
    assert (
        main(["generate", *args, "--temperature", "0.9", "--top-k", "40", "--out", str(first)]) == 0
    )
    assert "40 tokens" in capsys.readouterr().out
    assert main(["generate", "--from", str(first), "--out", str(second)]) == 0
    assert read_text(first)[0] == read_text(second)[0]
    request = read_text(first)[1].request
    assert (request.seed, request.top_k, request.temperature) == (3, 40, 0.9)
    assert main(["info", str(first)]) == 0
    assert "top_k" in capsys.readouterr().out
    assert main(["generate", *args, "--out", str(tmp_path / "x.png")]) == 2
    assert "writes .txt or .md" in capsys.readouterr().err


# -- the network and its data ------------------------------------------------------------------
def test_one_step_with_the_cache_equals_the_whole_window() -> None:
    import torch

    from studio.nets.gpt import GPT, GPTConfig, GPTStep

    torch.manual_seed(0)
    config = GPTConfig(block_size=16, n_layer=2, n_head=2, n_embd=16)
    window, step = GPT(config).eval(), GPTStep(config).eval()
    step.load_state_dict(window.state_dict())
    tokens = torch.randint(0, 256, (2, 16)).float()
    with torch.no_grad():
        logits, keys, values = window(tokens)
        cache_k, cache_v = torch.zeros_like(keys), torch.zeros_like(values)
        for position in range(16):
            out, k, v = step(
                tokens[:, position : position + 1],
                torch.full((2,), float(position)),
                cache_k,
                cache_v,
            )
            torch.testing.assert_close(out, logits[:, position], rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(k[:, :, :, 0], keys[:, :, :, position])
            cache_k[:, :, :, position], cache_v[:, :, :, position] = k[:, :, :, 0], v[:, :, :, 0]
        # causal: changing the last token changes no earlier logit
        changed = tokens.clone()
        changed[:, -1] = (changed[:, -1] + 1) % 256
        torch.testing.assert_close(window(changed)[0][:, :-1], logits[:, :-1])


def test_bible_listing_becomes_one_verse_per_line() -> None:
    from studio.training.kjv_data import verses_from_listing

    listing = (
        "\nGenesis 1\n\n  1 In the beginning God created the heaven and the earth.\n"
        "  2 And the earth was without form, and void; and darkness was upon the face of\n"
        "the deep.\n\n1 Kings 2\n\n  1 Now the days of David drew nigh.\n"
    )
    assert verses_from_listing(listing) == [
        "In the beginning God created the heaven and the earth.",
        "And the earth was without form, and void; and darkness was upon the face of the deep.",
        "Now the days of David drew nigh.",
    ]

"""GPT family: byte-level autoregressive text with a fixed-size KV cache.

Two networks over the same weights (see studio/nets/gpt.py): `forward` runs a whole window
and returns every position's keys and values; `step` runs one token against the cache. With
the cache a token costs one `step`; without it, one `forward` over the whole context.

When the text outgrows the window, the context jumps forward by a quarter window and the
cache is primed again from the new window. Both paths use the same window at every token
(`context_start`), so cached and uncached greedy decoding agree token for token.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Generator, Mapping
from dataclasses import replace

import numpy as np

from studio.backends.base import Session
from studio.core.descriptor import Control, FamilyDescriptor
from studio.core.errors import ManifestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.results import TextProgress, TextResult
from studio.core.text_request import TextRequest
from studio.families.base import NO_CONTEXT, Family, JobContext
from studio.families.token_sampling import PENALTY_WINDOW, next_token

TextJob = Generator[TextProgress, None, TextResult]
EMPTY_PROMPT = b"\n"  # an empty prompt starts a new line of the corpus


def context_start(length: int, block: int) -> int:
    """First token of the window that predicts token `length` (context = tokens[start:length])."""
    if length <= block:
        return 0
    shift = max(1, block // 4)
    return -(-(length - block) // shift) * shift  # ceil to a multiple of shift


class GptFamily(Family):
    descriptor = FamilyDescriptor(
        "gpt",
        "text",
        ("forward", "step"),
        conditions=("prompt",),
        controls=(
            Control("temperature", "Temperature", 0.0, 5.0, 0.8, 0.05, tooltip="0 is greedy",
                    default_key="default_temperature"),
            Control("top_k", "Top-k", 0, 256, 0, integer=True, tooltip="0 keeps every token",
                    default_key="default_top_k"),
            Control("top_p", "Top-p", 0.01, 1.0, 1.0, 0.01, tooltip="1 keeps every token",
                    default_key="default_top_p"),
            Control("repetition_penalty", "Repetition penalty", 1.0, 5.0, 1.0, 0.05),
            Control("max_tokens", "Max tokens", 1, 8192, 200, integer=True),
        ),
        summary="a transformer that continues a prompt token by token",
    )  # fmt: skip

    def __init__(self, manifest: Manifest, sessions: Mapping[str, Session]) -> None:
        super().__init__(manifest, sessions)
        self.forward = sessions["forward"]
        self.step = sessions["step"]
        cache = self.step.spec.inputs[2]  # (batch, layers, heads, block, head size)
        self.block = self.forward.spec.inputs[0].size(1)
        self.cache_shape = (1, *(cache.size(k) for k in range(1, len(cache.shape))))

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> None:
        super().check_manifest(manifest)
        path = manifest.folder / MANIFEST_NAME
        tokenizer = manifest.parameters.get("tokenizer")
        if tokenizer != "bytes":
            raise ManifestError(
                path, "parameters.tokenizer", f"{tokenizer!r}: only 'bytes' (UTF-8) is supported"
            )
        window = manifest.networks["forward"].inputs
        step_inputs = [t.name for t in manifest.networks["step"].inputs]
        if len(window) != 1 or len(window[0].shape) != 2 or not isinstance(window[0].shape[1], int):
            raise ManifestError(
                path, "networks.forward.inputs", "needs one input of shape [batch, block size]"
            )
        if step_inputs != ["token", "position", "past_keys", "past_values"]:
            raise ManifestError(
                path,
                "networks.step.inputs",
                f"must be token, position, past_keys, past_values in that order, not {step_inputs}",
            )

    def _window(self, ids: list[int], start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run `forward` on ids[start:], padded to the block: (logits of the last token,
        keys, values (1, layers, heads, block, head size))."""
        context = ids[start:]
        tokens = np.zeros((1, self.block), np.float32)
        tokens[0, : len(context)] = context
        out = self.forward.run({"tokens": tokens})
        return out["logits"][0, len(context) - 1], out["keys"], out["values"]

    def generate(self, request: TextRequest, context: JobContext = NO_CONTEXT) -> TextJob:
        started = time.perf_counter()
        prompt_bytes = request.prompt.encode("utf-8") or EMPTY_PROMPT
        ids = list(prompt_bytes)
        rng = np.random.default_rng(request.seed)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        completion = ""
        start = context_start(len(ids), self.block)
        logits, keys, values = self._window(ids, start)
        session = self.step if request.use_cache else self.forward
        provenance = self.provenance(request, session)
        for drawn in range(1, request.max_tokens + 1):
            recent = np.asarray(ids[-PENALTY_WINDOW:])  # all the repetition penalty looks at
            token = next_token(logits, recent, request, rng)
            ids.append(token)
            completion += decoder.decode(bytes([token]))
            if drawn == request.max_tokens:
                break
            so_far = replace(provenance, request=replace(request, max_tokens=drawn))
            # what a run stopped here returns: half a UTF-8 character decodes as U+FFFD
            pending = decoder.getstate()[0].decode("utf-8", errors="replace")
            partial = TextResult(
                request.prompt, completion + pending, drawn, so_far, time.perf_counter() - started
            )
            yield TextProgress(
                drawn / request.max_tokens, f"{drawn}/{request.max_tokens} tokens", partial
            )
            new_start = context_start(len(ids), self.block)
            if not request.use_cache or new_start != start:
                start = new_start
                logits, keys, values = self._window(ids, start)
                continue
            position = len(ids) - 1 - start
            out = self.step.run(
                {
                    "token": np.array([[token]], np.float32),
                    "position": np.array([position], np.float32),
                    "past_keys": keys,
                    "past_values": values,
                }
            )
            keys[:, :, :, position] = out["keys"][:, :, :, 0]
            values[:, :, :, position] = out["values"][:, :, :, 0]
            logits = out["logits"][0]
        completion += decoder.decode(b"", final=True)
        return TextResult(
            prompt=request.prompt,
            completion=completion,
            tokens=request.max_tokens,
            provenance=provenance,
            seconds=time.perf_counter() - started,
            fallback=session.choice.fallback,
        )

"""Choosing the next token from a model's logits: the knobs of a local LLM app.

Order as in Hugging Face's `generate`: repetition penalty (Keskar et al. 2019, CTRL: divide a
seen token's positive logit by the penalty, multiply a negative one), temperature, top-k, then
top-p (Holtzman et al. 2020, nucleus). Each draw uses one uniform number from the caller's
generator, so a seed fixes the text whatever the settings.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from studio.core.text_request import TextRequest

PENALTY_WINDOW = 256  # tokens of context the repetition penalty looks back over


def penalise_repeats(
    logits: npt.NDArray[np.floating], context: npt.NDArray[np.integer], penalty: float
) -> npt.NDArray[np.floating]:
    if penalty == 1.0 or len(context) == 0:
        return logits
    seen = np.unique(context[-PENALTY_WINDOW:])
    logits = logits.copy()
    logits[seen] = np.where(logits[seen] > 0, logits[seen] / penalty, logits[seen] * penalty)
    return logits


def token_probabilities(
    logits: npt.NDArray[np.floating], request: TextRequest
) -> npt.NDArray[np.float64]:
    """(vocab,) logits -> (vocab,) probabilities after temperature, top-k and top-p.
    Temperature 0 puts all the mass on the likeliest token (greedy)."""
    scaled = logits.astype(np.float64)
    if request.temperature == 0.0:
        greedy = np.zeros_like(scaled)
        greedy[int(np.argmax(scaled))] = 1.0
        return greedy
    scaled = scaled / request.temperature
    if 0 < request.top_k < len(scaled):
        kth = np.partition(scaled, -request.top_k)[-request.top_k]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    probs: npt.NDArray[np.float64] = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    if request.top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        mass_before = np.cumsum(probs[order]) - probs[order]
        drop = order[mass_before >= request.top_p]  # the likeliest token is always kept
        probs[drop] = 0.0
        probs /= probs.sum()
    return probs


def next_token(
    logits: np.ndarray, context: np.ndarray, request: TextRequest, rng: np.random.Generator
) -> int:
    """One token id drawn from `logits` (vocab,) given the `context` ids so far."""
    logits = penalise_repeats(logits, context, request.repetition_penalty)
    cdf = np.cumsum(token_probabilities(logits, request))
    u = rng.random()  # drawn even when greedy, so the stream stays aligned across settings
    return int(min(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1))

"""A small decoder-only transformer over bytes, in the spirit of nanoGPT (Radford et al. 2019).

One set of weights, two faces, one per network a text model's manifest declares:
- `GPT.forward(tokens)`: a whole window at once -> logits and every position's keys and
  values. It primes the cache from a prompt and is the no-cache baseline.
- `GPTStep.forward(token, position, past_keys, past_values)`: one token against a fixed-size
  cache -> its logits, key and value; the caller writes them into the cache at `position`.
Fixed-size caches keep every shape static, so neither ONNX graph needs a dynamic sequence axis.
Token ids and positions arrive as float32 (the Session contract); ids below 2**24 are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 256  # bytes: any UTF-8 text is a token sequence, nothing is unknown
    block_size: int = 256  # longest context, and the size of the KV cache
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128  # model width; n_embd // n_head per head


class Block(nn.Module):
    """Pre-norm attention and MLP, both residual."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(config.n_embd, 4 * config.n_embd),
            nn.GELU(approximate="tanh"),
            nn.Linear(4 * config.n_embd, config.n_embd),
        )

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        return x.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)  # (B, nh, T, hs)

    def forward(
        self,
        x: torch.Tensor,  # (B, T, C)
        allowed: torch.Tensor,  # bool, broadcasts to (B, nh, T, S): which keys a query sees
        past: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`past` = (keys, values (B, nh, S, hs), slot (B, 1, S, 1) bool): this step's key and
        value take the slot's place in the cache. Returns (x, keys, values (B, nh, T, hs))."""
        q, k, v = self.qkv(self.ln_1(x)).split(x.shape[-1], dim=2)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        keys, values = k, v
        if past is not None:
            past_keys, past_values, slot = past
            keys = torch.where(slot, k, past_keys)  # (B, nh, S, hs)
            values = torch.where(slot, v, past_values)
        scores = (q @ keys.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # (B, nh, T, S)
        weights = F.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
        y = (weights @ values).transpose(1, 2).reshape(x.shape)  # (B, T, C)
        x = x + self.proj(y)
        return x + self.mlp(self.ln_2(x)), k, v


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def logits(self, idx: torch.Tensor) -> torch.Tensor:
        """Training path: idx (B, T) int64 -> logits (B, T, vocab)."""
        return self._window(idx)[0]

    def _window(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t = idx.shape[1]
        positions = torch.arange(t, device=idx.device)
        x = self.wte(idx) + self.wpe(positions)  # (B, T, C)
        causal = torch.ones(t, t, dtype=torch.bool, device=idx.device).tril()  # (T, T)
        keys, values = [], []
        for block in self.blocks:
            x, k, v = block(x, causal)
            keys.append(k)
            values.append(v)
        # (B, n_layer, nh, T, hs): batch first, as every network's first axis
        return self.head(self.ln_f(x)), torch.stack(keys, 1), torch.stack(values, 1)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """tokens (B, block_size) float ids -> logits (B, T, vocab), keys and values
        (B, n_layer, nh, T, hs). Causal: padding after the text changes nothing before it."""
        return self._window(tokens.long())


class GPTStep(GPT):
    """The same weights (and state-dict keys) as GPT, run one token at a time with a cache."""

    def forward(  # type: ignore[override]
        self,
        token: torch.Tensor,  # (B, 1) float id
        position: torch.Tensor,  # (B,) float, 0 .. block_size - 1
        past_keys: torch.Tensor,  # (B, n_layer, nh, block_size, hs); slots >= position unused
        past_values: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> logits (B, vocab), this token's keys and values (B, n_layer, nh, 1, hs)."""
        p = position.long()
        slots = torch.arange(self.config.block_size, device=token.device)  # (S,)
        x = self.wte(token.long()) + self.wpe(p)[:, None, :]  # (B, 1, C)
        allowed = (slots[None, :] <= p[:, None])[:, None, None, :]  # (B, 1, 1, S)
        slot = (slots[None, :] == p[:, None])[:, None, :, None]  # (B, 1, S, 1)
        keys, values = [], []
        for layer, block in enumerate(self.blocks):
            past = (past_keys[:, layer], past_values[:, layer], slot)
            x, k, v = block(x, allowed, past)
            keys.append(k)
            values.append(v)
        logits = self.head(self.ln_f(x))[:, 0]  # (B, vocab)
        return logits, torch.stack(keys, 1), torch.stack(values, 1)

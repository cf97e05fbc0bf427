"""Headless verbs: `studio models`, `generate`, `encode`, `score`, `render-notes`, `stylize`,
`info`; one module each, their shared options in `options`, the parser in `dispatch`."""

from __future__ import annotations

from studio.cli.dispatch import build_parser, main

__all__ = ["build_parser", "main"]

"""Diffusion samplers: one algorithm per file; the network only predicts noise."""

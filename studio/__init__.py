"""Latent Studio: a desktop studio for generative models."""

"""Tiny, untrained model folders for tests and for trying the import path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from studio.nets.dcgan import DCGANConfig, Generator
from studio.nets.flow import FlowConfig, FlowEncoder
from studio.nets.vae import VAEConfig
from studio.training import flow_emoji, gan_emoji, vae_emoji
from studio.training.vae_emoji import VAE


def _pictures(size: int, count: int = 64) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def build_tiny_gan(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    generator = Generator(DCGANConfig(latent_dim=8, image_size=8, base_channels=4)).eval()
    gan_emoji.export_gan(
        generator,
        folder,
        steps=0,
        minutes=0.0,
        model_id="tiny-gan",
        name="Tiny GAN (untrained)",
        num_directions=4,
    )
    return folder


def build_tiny_vae(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = VAE(VAEConfig(latent_dim=8, image_size=8, base_channels=8)).eval()
    vae_emoji.export_vae(model, folder, _pictures(8), 0, 0.0, 8.0, "tiny-vae", "Tiny VAE")
    return folder


def build_tiny_flow(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    encoder = FlowEncoder(FlowConfig(image_size=8, levels=2, steps=2, hidden=8))
    with torch.no_grad():  # actnorm initialisation, then small random couplings
        encoder.train()
        encoder(torch.rand(64, 3, 8, 8) - 0.5)
        for parameter in encoder.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    encoder.eval()
    pictures, typical = _pictures(8), [7.0, 8.0, 9.0]
    flow_emoji.export_flow(
        encoder, folder, pictures, 0, 0.0, 8.0, typical, "tiny-flow", "Tiny flow"
    )
    return folder


def build_tiny_ddpm(folder: Path, seed: int = 0) -> Path:
    from studio.nets.unet import UNet, UNetConfig
    from studio.training import diffusion

    torch.manual_seed(seed)
    config = UNetConfig(image_size=8, base_channels=8, multipliers=(1, 2), time_dim=16, patch=1)
    model = UNet(config).eval()
    diffusion.export_ddpm(model, folder, 0, 0.0, float("nan"), "tiny-ddpm", "Tiny diffusion")
    return folder


def build_tiny_pixelcnn(folder: Path, seed: int = 0) -> Path:
    from studio.nets.pixelcnn import PixelCNN, PixelCNNConfig
    from studio.training import pixelcnn

    torch.manual_seed(seed)
    config = PixelCNNConfig(image_size=8, palette_size=4, channels=8, layers=3, kernel=3)
    palette = np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 0, 255]], np.uint8)
    pixelcnn.export_pixelcnn(
        PixelCNN(config).eval(), folder, palette, 0, 0.0, 2.0, "tiny-pixelcnn", "Tiny PixelCNN"
    )
    return folder


def build_tiny_rbm(folder: Path, seed: int = 0) -> Path:
    from studio.nets.rbm import RBM, RBMConfig
    from studio.training import rbm

    torch.manual_seed(seed)
    machine = RBM(RBMConfig(visible=64, hidden=16))
    with torch.no_grad():
        machine.weight.normal_(0, 0.5)
    rbm.export_rbm(machine, folder, 0, 0.0, 0.0, 0, 0.3, "tiny-rbm", "Tiny RBM")
    return folder


def build_tiny_gpt(folder: Path, seed: int = 0) -> Path:
    from studio.nets.gpt import GPT, GPTConfig
    from studio.training import gpt_text

    torch.manual_seed(seed)
    model = GPT(GPTConfig(block_size=32, n_layer=2, n_head=2, n_embd=16)).eval()
    with torch.no_grad():  # spread the logits, so greedy choices are clear-cut, not near-ties
        model.head.weight.mul_(100.0)
    gpt_text.export_gpt(model, folder, 0, 0.0, 5.5, "tiny-gpt", "Tiny GPT (untrained)")
    return folder


def build_tiny_wavenet(folder: Path, seed: int = 0) -> Path:
    from studio.nets.wavenet import WaveNet, WaveNetConfig
    from studio.training import wavenet_notes

    torch.manual_seed(seed)
    config = WaveNetConfig(
        channels=8,
        skip_channels=8,
        head_channels=16,
        dilations=(1, 3, 9, 1, 3, 9),
        pitch_size=4,
        instruments=3,
        timbre_size=4,
    )
    model = WaveNet(config).eval()
    trained = wavenet_notes.WaveNetTrained(0, 0.0, 5.5, (48, 72))
    instruments = ("Piano", "Violin", "Flute")
    frames = np.linspace(0, 1, 250)
    loudness = np.stack([np.exp(-4 * frames), np.minimum(1, 5 * frames), np.full(250, 0.5)])
    wavenet_notes.export_wavenet(model, folder, trained, instruments, loudness, "tiny-wavenet")
    return folder


def build_tiny_adain(folder: Path, seed: int = 0) -> Path:
    """An untrained AdaIN decoder (16 channels wide) over the bundled vgg16-features."""
    from studio.nets.adain import Decoder, DecoderConfig
    from studio.training import adain

    torch.manual_seed(seed)
    decoder = Decoder(DecoderConfig(width=16)).eval()
    trained = adain.AdaINTrained(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0)
    adain.export_adain(decoder, folder, folder, trained, measure=False, model_id="tiny-adain")
    return folder


def build_tiny_stylegan(folder: Path, seed: int = 0) -> Path:
    """An untrained StyleGAN (8 px, 8-16 channels) exported by the sprite recipe's exporter."""
    from studio.nets.stylegan import StyleGANConfig
    from studio.training import stylegan_sprites

    torch.manual_seed(seed)
    config = StyleGANConfig(z_dim=8, w_dim=8, mapping_layers=2, resolution=8, widths=(16, 8))
    generator = stylegan_sprites.Generator(config).eval()
    with torch.no_grad():  # training starts the noise strengths at 0: give the noise a say
        for name, parameter in generator.named_parameters():
            if name.endswith("noise_strength"):
                parameter.fill_(0.5)
    state = {"step": 0, "images_seen": 0, "minutes": 0.0, "train_sprites": 0}
    stylegan_sprites.export_model(
        generator, folder, state, model_id="tiny-stylegan", name="Tiny StyleGAN (untrained)"
    )
    return folder

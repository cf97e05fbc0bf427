"""Recipe for the bundled model `stylegan-sprites-32`: a StyleGAN2 on Dungeon Crawl sprites.

Losses and schedule follow StyleGAN2-ADA (Karras et al., 2020, training/loss.py maths):
non-saturating logistic loss, lazy R1 on reals every 16 D steps, style-mixing regularisation,
G EMA with a 10k-image half-life and a ramp-up, Adam (0, 0.99). Small-data augmentation is
DiffAugment (Zhao et al., 2020) on real and fake for both G and D steps, with colour changes on
RGB only (alpha is shape, not colour) and transparent fill for translation and cutout.

R1 gamma = 0.1. The ADA heuristic 0.0002 * res^2 / batch gives 0.0064 at 32 px, but that is
for tens of thousands of images; with ~3.5k training sprites the discriminator overfits early
and the stronger penalty keeps its gradients smooth, while 0.1 is still small enough that
crisp one-pixel edges (pixel art) are not blurred away. Data: `sprites_data`.

`python -m studio.training.stylegan_sprites --minutes 105 [--resume]`: `--minutes` is the
total budget across resumes (the JSON state keeps the minutes already spent).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file

from studio.nets.stylegan import Discriminator, Mapping, StyleGANConfig, Synthesis, random_noise
from studio.training import sprites_data
from studio.training.sprites_data import CATEGORIES, Sprites, checkerboard, composite

MODEL_ID = "stylegan-sprites-32"
REPO = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    net: StyleGANConfig = field(default_factory=StyleGANConfig)
    batch_size: int = 32
    g_lr: float = 0.0025
    d_lr: float = 0.0025
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float = 0.1
    r1_every: int = 16  # lazy regularisation interval (D steps)
    mixing_prob: float = 0.9
    ema_half_life_images: float = 10_000
    ema_rampup: float = 0.05  # EMA half-life <= this fraction of the images seen so far
    checkpoint_minutes: float = 5.0
    preview_minutes: float = 10.0
    log_minutes: float = 1.0
    seed: int = 0
    # Batches whose minibatch-std groups (samples i, i + B/4, ...) share one category, so the
    # statistic measures variety within a category rather than between categories; and
    # whether DiffAugment changes colour (per-sample colour changes also hide identical fakes
    # from that statistic). The 105-minute run of 2026-12-06 used False / True.
    same_category_groups: bool = False
    colour_augment: bool = True
    mbstd_group: int = 4  # must match the discriminator's MinibatchStd


class Generator(torch.nn.Module):
    """Mapping + synthesis, for training and sampling in torch; exported as two graphs."""

    def __init__(self, config: StyleGANConfig) -> None:
        super().__init__()
        self.config = config
        self.mapping = Mapping(config)
        self.synthesis = Synthesis(config)

    def forward(
        self,
        z: torch.Tensor,
        category: torch.Tensor,
        noise: torch.Tensor,
        psi: float = 1.0,
        mix_z: torch.Tensor | None = None,
        mix_from: int | None = None,
    ) -> torch.Tensor:
        """rgba (B, 4, R, R); psi < 1 truncates toward the global w_avg; ws from index
        `mix_from` on are mapped from `mix_z` (same category)."""
        w = self.mapping(z, category)
        ws = w[:, None].repeat(1, self.config.num_ws, 1)  # (B, num_ws, w_dim)
        if mix_z is not None and mix_from is not None:
            ws[:, mix_from:] = self.mapping(mix_z, category)[:, None]
        if psi != 1.0:
            ws = self.mapping.w_avg.lerp(ws, psi)
        return self.synthesis(ws, noise)


# ---------------------------------------------------------------------------- augmentation


def diff_augment_rgba(
    x: torch.Tensor, generator: torch.Generator, colour: bool = True
) -> torch.Tensor:
    """x (B, 4, H, W) in [-1, 1] -> augmented, same shape; differentiable in x.

    Colour (brightness, saturation, contrast) on RGB only; translation by up to 1/8 of the side
    and a half-side cutout fill with transparent black (-1 in every channel).
    """
    b, _, h, w = x.shape

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    rgb, alpha = x[:, :3], x[:, 3:]
    if colour:
        rgb = rgb + (rand(b, 1, 1, 1) - 0.5)
        mean = rgb.mean(dim=1, keepdim=True)
        rgb = (rgb - mean) * (rand(b, 1, 1, 1) * 2) + mean
        mean = rgb.mean(dim=[1, 2, 3], keepdim=True)
        rgb = (rgb - mean) * (rand(b, 1, 1, 1) + 0.5) + mean
    x = torch.cat([rgb, alpha], dim=1) + 1  # shifted so transparent black is 0 for the fills

    shift = max(1, h // 8)
    padded = F.pad(x, [shift, shift, shift, shift])
    dy = (rand(b) * (2 * shift + 1)).long()
    dx = (rand(b) * (2 * shift + 1)).long()
    rows = torch.arange(h)[None, :] + dy[:, None]  # (B, H)
    cols = torch.arange(w)[None, :] + dx[:, None]  # (B, W)
    batch = torch.arange(b)[:, None, None]
    x = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    x = x.permute(0, 3, 1, 2)

    ch, cw = h // 2, w // 2
    cy = (rand(b) * (h - ch + 1)).long()
    cx = (rand(b) * (w - cw + 1)).long()
    ys, xs = torch.arange(h)[None, :], torch.arange(w)[None, :]
    inside_y = (ys >= cy[:, None]) & (ys < cy[:, None] + ch)  # (B, H)
    inside_x = (xs >= cx[:, None]) & (xs < cx[:, None] + cw)  # (B, W)
    mask = ~(inside_y[:, :, None] & inside_x[:, None, :])  # (B, H, W)
    return x * mask[:, None].to(x.dtype) - 1


# ---------------------------------------------------------------------------- data


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 4) -> float32 (N, 4, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(rgba: torch.Tensor) -> np.ndarray:
    """float (B, 4, H, W) about [-1, 1] -> uint8 (B, H, W, 4)."""
    x = rgba.detach().clamp(-1, 1).add(1).mul(127.5).round().byte()
    return x.permute(0, 2, 3, 1).numpy()


class BalancedSampler:
    """Batches with categories drawn uniformly, then a sprite of that category uniformly, with
    a random horizontal flip (a mirrored sprite is still a sprite)."""

    def __init__(self, sprites: Sprites, generator: torch.Generator) -> None:
        self.data = to_tensor(sprites.images)
        self.by_category = [
            torch.from_numpy(np.nonzero(sprites.categories == c)[0]) for c in range(len(CATEGORIES))
        ]
        self.generator = generator

    def __call__(self, category: torch.Tensor) -> torch.Tensor:
        """One sprite of each given category, (B, 4, H, W) in [-1, 1]."""
        g, batch = self.generator, len(category)
        index = torch.stack(
            [
                self.by_category[c][torch.randint(len(self.by_category[c]), (1,), generator=g)][0]
                for c in category.tolist()
            ]
        )
        x = self.data[index]
        flip = torch.rand(batch, generator=g) < 0.5
        return torch.where(flip[:, None, None, None], x.flip(3), x)


def draw_categories(batch: int, rng: torch.Generator, period: int | None) -> torch.Tensor:
    """(B,) uniform categories; with `period`, `period` draws tiled, so that samples
    i, i + period, i + 2 * period ... (one minibatch-std group) share a category."""
    if period is None:
        return torch.randint(len(CATEGORIES), (batch,), generator=rng)
    return torch.randint(len(CATEGORIES), (period,), generator=rng).repeat(batch // period)


# ---------------------------------------------------------------------------- checkpoints


def _optimizer_tensors(prefix: str, opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for index, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            out[f"{prefix}.{index}.{key}"] = torch.as_tensor(value).detach().clone()
    return out


def _load_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            _, index, key = name.split(".")
            state.setdefault(int(index), {})[key] = value
    opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})


def save_checkpoint(work: Path, nets: dict[str, torch.nn.Module], opts: dict, state: dict) -> None:
    """runs/ID/checkpoint-*.safetensors (plain tensors only, no pickles) + state.json."""
    for name, net in nets.items():
        tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
        save_file(tensors, str(work / f"checkpoint-{name}.tmp"))
        (work / f"checkpoint-{name}.tmp").replace(work / f"checkpoint-{name}.safetensors")
    tensors = {}
    for name, opt in opts.items():
        tensors.update(_optimizer_tensors(name, opt))
    save_file(tensors, str(work / "checkpoint-optim.tmp"))
    (work / "checkpoint-optim.tmp").replace(work / "checkpoint-optim.safetensors")
    (work / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")


def load_config(work: Path) -> StyleGANConfig:
    """The network config a training run recorded in work/config.json."""
    saved: dict[str, Any] = json.loads((work / "config.json").read_text(encoding="utf-8"))["net"]
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}
    return StyleGANConfig(**values)


def load_generator(work: Path, config: StyleGANConfig, name: str = "G_ema") -> Generator:
    """The generator from a checkpoint in work/, in eval mode."""
    g = Generator(config)
    g.load_state_dict(load_file(str(work / f"checkpoint-{name}.safetensors")))
    return g.eval()


# ---------------------------------------------------------------------------- previews


def sample(
    g: Generator, category: int, n: int, seed: int, psi: float = 1.0, noise_scale: float = 1.0
) -> np.ndarray:
    """n sprites of one category from fixed seeds, uint8 (n, R, R, 4)."""
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, g.config.z_dim, generator=rng)
    noise = random_noise(g.config, n, rng) * noise_scale
    with torch.no_grad():
        return to_uint8(g(z, torch.full((n,), category), noise, psi=psi))


def preview(g: Generator, rows: int = 8, seed: int = 0, scale: int = 2) -> Image.Image:
    """An 8x8 grid per category side by side, over a checkerboard, upscaled (nearest)."""
    r = g.config.resolution
    grids = []
    for c in range(len(CATEGORIES)):
        tiles = sample(g, c, rows * rows, seed + c)
        grid = tiles.reshape(rows, rows, r, r, 4).transpose(0, 2, 1, 3, 4)
        grids.append(grid.reshape(rows * r, rows * r, 4))
        grids.append(np.zeros((rows * r, r // 2, 4), np.uint8))  # transparent gutter
    rgba = np.concatenate(grids[:-1], axis=1)
    rgb = composite(rgba, checkerboard(*rgba.shape[:2]))
    picture = Image.fromarray(rgb)
    return picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)


# ---------------------------------------------------------------------------- training


def train(
    sprites: Sprites,
    config: TrainConfig,
    work: Path,
    minutes: float,
    steps: int | None,
    resume: bool,
) -> tuple[Generator, dict]:
    """Train on the train split until `minutes` (total, across resumes) or `steps`."""
    (work / "config.json").write_text(json.dumps(asdict(config), indent=1), encoding="utf-8")
    torch.manual_seed(config.seed)
    rng = torch.Generator().manual_seed(config.seed)
    net = config.net
    g, d = Generator(net).train(), Discriminator(net).train()
    g_ema = copy.deepcopy(g).eval()
    # lazy R1: D's Adam is rescaled so the regularised interval has the same effective step
    ratio = config.r1_every / (config.r1_every + 1)
    opt_g = torch.optim.Adam(g.parameters(), config.g_lr, config.betas, eps=1e-8)
    opt_d = torch.optim.Adam(
        d.parameters(), config.d_lr * ratio, tuple(b**ratio for b in config.betas), eps=1e-8
    )
    state = {"step": 0, "images_seen": 0, "minutes": 0.0, "seed": config.seed}
    if resume and (work / "state.json").exists():
        g.load_state_dict(load_file(str(work / "checkpoint-G.safetensors")))
        g_ema.load_state_dict(load_file(str(work / "checkpoint-G_ema.safetensors")))
        d.load_state_dict(load_file(str(work / "checkpoint-D.safetensors")))
        optim = load_file(str(work / "checkpoint-optim.safetensors"))
        _load_optimizer("G", opt_g, optim)
        _load_optimizer("D", opt_d, optim)
        state = json.loads((work / "state.json").read_text(encoding="utf-8"))
        rng.manual_seed(config.seed + state["step"])  # a fresh, still reproducible stream
        log.info("resumed at step %d, %.1f min", state["step"], state["minutes"])
    sampler = BalancedSampler(sprites, rng)
    batch, num_ws = config.batch_size, net.num_ws
    period = batch // config.mbstd_group if config.same_category_groups else None
    colour = config.colour_augment

    def mapped_ws(z: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        ws = g.mapping(z, category)[:, None].repeat(1, num_ws, 1)  # (B, num_ws, w_dim)
        if torch.rand((), generator=rng) < config.mixing_prob:
            cut = int(torch.randint(1, num_ws, (), generator=rng))
            z2 = torch.randn(z.shape, generator=rng)
            ws[:, cut:] = g.mapping(z2, category)[:, None]
        return ws

    def fake(category: torch.Tensor) -> torch.Tensor:
        z = torch.randn(batch, net.z_dim, generator=rng)
        return g.synthesis(mapped_ws(z, category), random_noise(net, batch, rng))

    session_start = time.monotonic()
    spent_before = state["minutes"]
    marks = {"checkpoint": 0.0, "preview": 0.0, "log": 0.0}
    window = {"t": time.monotonic(), "images": state["images_seen"]}
    losses = {"d": 0.0, "g": 0.0, "r1": 0.0}

    def elapsed() -> float:
        return spent_before + (time.monotonic() - session_start) / 60

    def save() -> None:
        state["minutes"] = elapsed()
        save_checkpoint(
            work, {"G": g, "G_ema": g_ema, "D": d}, {"G": opt_g, "D": opt_d}, state | {}
        )

    while elapsed() < minutes and (steps is None or state["step"] < steps):
        # --- D step: softplus(D(fake)) + softplus(-D(real)), R1 every r1_every steps
        category = draw_categories(batch, rng, period)
        real = sampler(category)
        with torch.no_grad():
            fakes = fake(category)
        d_loss = F.softplus(d(diff_augment_rgba(fakes, rng, colour), category)).mean()
        d_loss = d_loss + F.softplus(-d(diff_augment_rgba(real, rng, colour), category)).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        if state["step"] % config.r1_every == 0:
            real_r1 = real.detach().requires_grad_(True)
            logits = d(diff_augment_rgba(real_r1, rng, colour), category)
            (grad,) = torch.autograd.grad(logits.sum(), real_r1, create_graph=True)
            r1 = grad.square().sum(dim=(1, 2, 3)).mean()
            (r1 * (config.r1_gamma / 2) * config.r1_every).backward()
            losses["r1"] = r1.item()
        opt_d.step()

        # --- G step: softplus(-D(G(z)))
        category = draw_categories(batch, rng, period)
        g_loss = F.softplus(-d(diff_augment_rgba(fake(category), rng, colour), category)).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

        # --- EMA of G, half-life in images, ramped up over the first images
        state["step"] += 1
        state["images_seen"] += batch
        half_life = min(config.ema_half_life_images, state["images_seen"] * config.ema_rampup)
        beta = 0.5 ** (batch / max(half_life, 1e-8))
        with torch.no_grad():
            for e, p in zip(g_ema.parameters(), g.parameters(), strict=True):
                e.lerp_(p, 1.0 - beta)
            for e_buf, buf in zip(g_ema.buffers(), g.buffers(), strict=True):
                e_buf.copy_(buf)  # w_avg
        losses["d"] = 0.98 * losses["d"] + 0.02 * d_loss.item()
        losses["g"] = 0.98 * losses["g"] + 0.02 * g_loss.item()

        now = elapsed()
        if now - marks["log"] >= config.log_minutes:
            marks["log"] = now
            t = time.monotonic()
            speed = (state["images_seen"] - window["images"]) / max(t - window["t"], 1e-9)
            window.update(t=t, images=state["images_seen"])
            log.info(
                "step %d  images %d  %.1f min  %.1f img/s  d %.3f  g %.3f  r1 %.3f  "
                "noise %.3f",
                state["step"], state["images_seen"], now, speed,
                losses["d"], losses["g"], losses["r1"],
                float(g.synthesis.layers[-1].get_parameter("noise_strength").detach()),
            )  # fmt: skip
        if now - marks["checkpoint"] >= config.checkpoint_minutes:
            marks["checkpoint"] = now
            save()
        if now - marks["preview"] >= config.preview_minutes:
            marks["preview"] = now
            preview(g_ema).save(work / f"preview-{state['images_seen'] // 1000:06d}k.png")
    save()
    preview(g_ema).save(work / f"preview-{state['images_seen'] // 1000:06d}k.png")
    return g_ema, state


# ---------------------------------------------------------------------------- export

NUM_DIRECTIONS = 16
QUALITY_JSON = REPO / "benchmarks" / "results" / "image_quality.json"


@torch.no_grad()
def category_w_avg(g: Generator, per_category: int = 10_000, seed: int = 1) -> np.ndarray:
    """Mean mapped w of each category, float32 (num_categories, w_dim): psi = 0 for a class."""
    rng = torch.Generator().manual_seed(seed)
    rows = []
    for c in range(g.config.num_categories):
        z = torch.randn(per_category, g.config.z_dim, generator=rng)
        rows.append(g.mapping(z, torch.full((per_category,), c)).mean(0))
    return torch.stack(rows).numpy().astype(np.float32)


@torch.no_grad()
def w_directions(g: Generator, count: int = NUM_DIRECTIONS, samples: int = 20_000, seed: int = 2):
    """GANSpace in w: PCA of mapped w (categories mixed evenly), top `count` components.

    Returns (vectors (count, w_dim) unit rows, std (count,) of w along each, explained
    variance fraction (count,)). In w space the PCA axes are already the directions."""
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, g.config.z_dim, generator=rng)
    category = torch.arange(samples) % g.config.num_categories
    w = g.mapping(z, category).numpy().astype(np.float64)
    centred = w - w.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    std = singular / np.sqrt(samples - 1)
    variance = singular**2 / (singular**2).sum()
    return (
        components[:count].astype(np.float32),
        std[:count].astype(np.float32),
        variance[:count].astype(np.float32),
    )


def _quality_summary() -> dict:
    """FD, copy-check and diversity figures from benchmarks/image_quality.py's JSON, if it
    has run on this model."""
    if not QUALITY_JSON.exists():
        return {}
    results = json.loads(QUALITY_JSON.read_text(encoding="utf-8"))
    if results.get("model") != MODEL_ID:
        return {}
    rows = {row["key"]: row for row in results["rows"]}
    mine = rows["model"]
    return {
        "benchmark": "python benchmarks/image_quality.py",
        "samples": results["samples"],
        "reference": results["reference"],
        "features": results["features"],
        "fd": mine["fd"],
        "fd_real_floor": rows["floor"]["fd"],
        "fd_pixel_gaussian": rows["gaussian"]["fd"],
        "fd_blurred_real": rows["blurred"]["fd"],
        "nn_median": mine["nn_median"],
        "nn_median_held_out": rows["held_out"]["nn_median"],
        "nn_frac_below_held_out_p5": mine["nn_frac_below_p5"],
        "diversity": mine["diversity"],
        "diversity_held_out": rows["held_out"]["diversity"],
    }


def export_model(
    g_ema: Generator,
    folder: Path,
    state: dict,
    model_id: str = MODEL_ID,
    name: str = "Dungeon sprites (StyleGAN2)",
) -> dict[str, float]:
    """Write models/stylegan-sprites-32/: mapping and synthesis as ONNX + safetensors,
    w_avg.npz (per category and global), directions.npz (GANSpace in w), manifest.toml.
    Returns the ONNX vs torch max abs difference of each graph."""
    from studio.training.export import export_network, write_manifest

    folder.mkdir(parents=True, exist_ok=True)
    g = copy.deepcopy(g_ema).eval()
    c = g.config
    rng = torch.Generator().manual_seed(7)
    z = torch.randn(4, c.z_dim, generator=rng)
    category = torch.tensor([0, 1, 2, 1])
    diffs = {
        "mapping": export_network(g.mapping, {"z": z, "category": category}, folder, "mapping", "w")
    }
    with torch.no_grad():
        ws = g.mapping(z, category)[:, None].repeat(1, c.num_ws, 1)
    ws = ws + 0.1 * torch.randn(ws.shape, generator=rng)  # layers differ, as when mixing
    noise = random_noise(c, 4, rng)
    diffs["synthesis"] = export_network(
        g.synthesis, {"ws": ws, "noise": noise}, folder, "synthesis", "rgba"
    )
    w_avg = category_w_avg(g)
    np.savez(
        folder / "w_avg.npz",
        per_category=w_avg,
        categories=np.array(CATEGORIES),
        global_=g.mapping.w_avg.numpy().astype(np.float32),
    )
    vectors, std, variance = w_directions(g)
    np.savez(
        folder / "directions.npz",
        vectors=vectors,
        names=np.array([f"PC{k + 1}" for k in range(len(vectors))]),
        scales=std,
        explained_variance=variance,
    )
    config = asdict(c)
    config["widths"] = list(c.widths)
    z_shape, ws_shape = ["batch", c.z_dim], ["batch", c.num_ws, c.w_dim]
    r = c.resolution
    manifest = {
        "id": model_id,
        "name": name,
        "family": "stylegan",
        "modality": "image",
        "description": (
            f"StyleGAN2-style generator of 32x32 RGBA pixel-art sprites (items, monsters, "
            f"terrain) trained on {state.get('train_sprites', 3480)} Dungeon Crawl Stone Soup "
            f"tiles; {state['step']} steps, {state['images_seen']} images shown in "
            f"{state['minutes']:.0f} min on a shared 2-core CPU. Output has straight alpha."
        ),
        "networks": {
            "mapping": {
                "architecture": "stylegan-mapping",
                "config": config,
                "onnx": {"path": "mapping.onnx"},
                "safetensors": {"path": "mapping.safetensors"},
                "inputs": {
                    "z": {"shape": z_shape, "dtype": "float32"},
                    "category": {"shape": ["batch"], "dtype": "int64"},
                },
                "outputs": {"w": {"shape": ["batch", c.w_dim]}},
            },
            "synthesis": {
                "architecture": "stylegan-synthesis",
                "config": config,
                "onnx": {"path": "synthesis.onnx"},
                "safetensors": {"path": "synthesis.safetensors"},
                "inputs": {
                    "ws": {"shape": ws_shape, "dtype": "float32"},
                    "noise": {"shape": ["batch", c.num_noise, r, r], "dtype": "float32"},
                },
                "outputs": {"rgba": {"shape": ["batch", c.channels, r, r]}},
            },
        },
        "io": {
            "latent": {"shape": [c.z_dim], "prior": "normal"},
            "output": {"shape": [c.channels, r, r], "range": [-1.0, 1.0], "alpha": "straight"},
        },
        # what studio/families/stylegan.py reads
        "parameters": {
            "num_ws": c.num_ws,
            "w_dim": c.w_dim,
            "categories": list(CATEGORIES),
            # resolution of the layer each ws row drives; coarse 4-8 px = shape, fine = colour
            "ws_resolutions": list(c.ws_resolutions),
            "layer_presets": {
                "coarse": [i for i, v in enumerate(c.ws_resolutions) if v <= 8],
                "middle": [i for i, v in enumerate(c.ws_resolutions) if v == 16],
                "fine": [i for i, v in enumerate(c.ws_resolutions) if v >= 32],
            },
            # noise channel j feeds 3x3 conv j at this resolution (its top-left r x r);
            # each layer adds strength * noise, so scaling the input scales the noise
            "noise_resolutions": list(c.noise_resolutions),
            "num_noise": c.num_noise,
            "w_avg_file": "w_avg.npz",  # per_category (categories, w_dim), global_ (w_dim,)
        },
        "directions": {"file": "directions.npz", "space": "w"},
        "origin": {
            "train": f"python -m studio.training.stylegan_sprites --minutes {state['minutes']:.0f}",
            "data": sprites_data.DATA_LICENCE,
            "licence": sprites_data.MODEL_LICENCE,
            "minutes": round(float(state["minutes"]), 1),
            "steps": int(state["step"]),
            "images_seen": int(state["images_seen"]),
            "onnx_torch_max_abs_diff": max(diffs.values()),
            "onnx_torch_max_abs_diff_mapping": diffs["mapping"],
            "onnx_torch_max_abs_diff_synthesis": diffs["synthesis"],
        },
    }
    # measured numbers go in [metrics], as the other bundled models do
    manifest["metrics"] = {
        "training_steps": int(state["step"]),
        "training_minutes": round(float(state["minutes"]), 1),
        "images_seen": int(state["images_seen"]),
        **(_quality_summary() if model_id == MODEL_ID else {}),
    }
    write_manifest(folder, manifest)
    log.info("exported %s (onnx vs torch max abs diff %s)", folder, diffs)
    return diffs


def export_from_checkpoint(runs: Path, out: Path) -> dict[str, float]:
    """Re-export from runs/ID/checkpoint-G_ema.safetensors and its config.json / state.json."""
    config = load_config(runs)
    state = json.loads((runs / "state.json").read_text(encoding="utf-8"))
    return export_model(load_generator(runs, config), out, state)


def build(
    out: Path,
    runs: Path,
    minutes: float,
    steps: int | None,
    resume: bool = False,
    config: TrainConfig | None = None,
    threads: int = 1,
) -> Path:
    """Train (runs/ID/: cache, checkpoints, previews, state.json) and export into out/.

    One thread by default: on the shared 2-core machine (another job on one core) a training
    step ran ~4x faster with 1 torch thread than with 2, whose threads wait on each other
    whenever the other core is taken."""
    config = config or TrainConfig()
    runs.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    sprites = sprites_data.load_or_build(runs / "sprites.npz")
    train_split = sprites.split(held_out=False)
    log.info("training on %d sprites for up to %.1f min (total)", len(train_split.images), minutes)
    g_ema, state = train(train_split, config, runs, minutes, steps, resume)
    log.info("trained: %s", state)
    # imported late on purpose: under `python -m` this module is __main__, so this reads the
    # file as it is when training ends (the exporter may be improved while a long run trains)
    from studio.training.stylegan_sprites import export_model

    export_model(g_ema, out, state)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=105.0, help="total training budget")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "models" / MODEL_ID)
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / MODEL_ID)
    parser.add_argument(
        "--widths", type=str, default=None, help="e.g. 128,128,64,32 (throughput trials)"
    )
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument(
        "--export-only", action="store_true", help="export runs/ID's checkpoint, no training"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (see build)")
    parser.add_argument(
        "--same-category-groups", action="store_true", help="see TrainConfig (diagnostics)"
    )
    parser.add_argument("--no-colour-augment", action="store_true", help="see TrainConfig")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = TrainConfig(
        same_category_groups=args.same_category_groups,
        colour_augment=not args.no_colour_augment,
    )
    if args.widths:
        widths = tuple(int(v) for v in args.widths.split(","))
        config = replace(config, net=StyleGANConfig(widths=widths))
    if args.export_only:
        torch.set_num_threads(args.threads)
        print(export_from_checkpoint(args.runs, args.out))
        net = load_config(args.runs)
        preview(load_generator(args.runs, net), scale=3).save(
            REPO / "docs" / "stylegan-sprites.png"
        )
        return 0
    if args.no_export:
        args.runs.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(args.threads)
        sprites = sprites_data.load_or_build(args.runs / "sprites.npz").split(held_out=False)
        train(sprites, config, args.runs, args.minutes, args.steps, args.resume)
        return 0
    build(args.out, args.runs, args.minutes, args.steps, args.resume, config, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

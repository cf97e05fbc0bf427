"""Image quality of the generative image models: Frechet distance, copy check, diversity.

    python benchmarks/image_quality.py [--model stylegan-sprites-32] [--samples 1000]
        [--checkpoint runs/stylegan-sprites-32 | --folder models/stylegan-sprites-32]

One table, as torch-fidelity's: a real-vs-real floor, baselines and the model, each as
`samples` pictures against the same reference set, the held-out real pictures (whole recolour
groups never seen in training). Every set is drawn with the reference's category mix.

Features: the bundled VGG-16 (models/vgg16-features, through studio.nets.registry), relu4_1
averaged over space (512 numbers), of each 32 px RGBA picture composited over a fixed mid-grey
(128, 128, 128) and upscaled to 128 px by nearest neighbour (pixel art has no sub-pixel detail
to invent; bilinear would blur every edge the same way for every set).

- FD: Frechet distance between Gaussians fitted to the two feature sets (Heusel et al., 2017).
  With ~300 reference pictures and 512 features the covariances are rank deficient, so FD
  has a positive bias of similar size for every row: compare rows, not absolute values.
- pixel-Gaussian baseline: per category, a Gaussian with the training pixels' mean and full
  covariance (sampled exactly as mean + centred_data^T e / sqrt(n - 1), e ~ N(0, I_n)).
- blurred: training sprites blurred with a 3x3 binomial kernel on all four channels.
- copy check (not shown for the floor, whose pictures are training sprites): per picture,
  the RMS pixel distance (RGBA in [0, 1]) to its nearest training
  sprite, mirrored ones included (training flips); compared with the same for held-out real
  sprites. A model that copies has many samples below held-out's 5th percentile. The blurred
  row shows what near-copies score.
- diversity: mean pairwise distance between the pooled features (1,000 random pairs); a
  collapsed model scores far below the real pictures.

Other image models join by adding a sampler to SAMPLERS: model id -> function(n, categories,
rng, source) returning uint8 RGBA (n, H, W, 4) (RGB models: alpha 255).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "image_quality.json"
GREY = 128
FEATURE_SIZE = 128

Sampler = Callable[[int, np.ndarray, np.random.Generator, Path | None], np.ndarray]


# ---------------------------------------------------------------------------- features


def load_vgg() -> torch.nn.Module:
    """The bundled VGG-16 features (relu1_1 .. relu4_1), float32, eval mode."""
    import tomllib

    from safetensors.torch import load_file

    from studio.nets.registry import build

    folder = REPO / "models" / "vgg16-features"
    manifest = tomllib.loads((folder / "manifest.toml").read_text(encoding="utf-8"))
    spec = manifest["networks"]["features"]
    net = build(spec["architecture"], spec["config"])
    weights = load_file(str(folder / spec["safetensors"]["path"]))
    net.load_state_dict({k: v.float() for k, v in weights.items()})
    return net.float().eval()


@torch.no_grad()
def features(vgg: torch.nn.Module, rgba: np.ndarray, batch: int = 50) -> np.ndarray:
    """uint8 RGBA (N, H, W, 4) -> float64 (N, 512): relu4_1 averaged over space."""
    out = []
    for start in range(0, len(rgba), batch):
        chunk = torch.from_numpy(rgba[start : start + batch]).float() / 255
        alpha = chunk[..., 3:]
        rgb = chunk[..., :3] * alpha + (GREY / 255) * (1 - alpha)  # over mid-grey
        x = rgb.permute(0, 3, 1, 2)  # (B, 3, H, W) in [0, 1]
        x = F.interpolate(x, size=(FEATURE_SIZE, FEATURE_SIZE), mode="nearest")
        relu4_1 = vgg(x)[-1]  # (B, 512, 16, 16)
        out.append(relu4_1.mean(dim=(2, 3)).double().numpy())
    return np.concatenate(out)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FD between Gaussians fitted to feature sets a (N, D) and b (M, D).

    tr sqrt(S_a S_b) = sum of sqrt of the eigenvalues of S_a S_b (real and >= 0 in exact
    arithmetic, as S_a S_b is similar to S_a^1/2 S_b S_a^1/2); tiny negative round-off is
    clipped."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(s_a @ s_b)
    tr_sqrt = np.sqrt(np.clip(eig.real, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * tr_sqrt)


def diversity(feats: np.ndarray, rng: np.random.Generator, pairs: int = 1000) -> float:
    i = rng.integers(len(feats), size=pairs)
    j = (i + rng.integers(1, len(feats), size=pairs)) % len(feats)  # never the same picture
    return float(np.linalg.norm(feats[i] - feats[j], axis=1).mean())


def nearest_distances(pictures: np.ndarray, train: np.ndarray, batch: int = 200) -> np.ndarray:
    """RMS distance of each uint8 RGBA picture to its nearest training sprite (or mirror)."""
    bank = np.concatenate([train, train[:, :, ::-1]]).reshape(2 * len(train), -1)
    bank = torch.from_numpy(bank.astype(np.float32) / 255)  # (2T, P)
    bank_sq = bank.square().sum(1)
    out = []
    for start in range(0, len(pictures), batch):
        x = pictures[start : start + batch].reshape(-1, bank.shape[1]).astype(np.float32) / 255
        x = torch.from_numpy(x)
        d2 = x.square().sum(1, keepdim=True) - 2 * x @ bank.T + bank_sq[None]  # (B, 2T)
        out.append(d2.min(dim=1).values.clamp_min(0).div(bank.shape[1]).sqrt().numpy())
    return np.concatenate(out)


# ---------------------------------------------------------------------------- sets


def stratified(categories: np.ndarray, wanted: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices into `categories` with the category mix of `wanted`, same length."""
    out = np.empty(len(wanted), np.int64)
    for c in np.unique(wanted):
        slots = np.nonzero(wanted == c)[0]
        pool = np.nonzero(categories == c)[0]
        out[slots] = rng.choice(pool, size=len(slots), replace=len(pool) < len(slots))
    return out


def pixel_gaussian(
    images: np.ndarray, categories: np.ndarray, wanted: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Samples of a per-category full-covariance Gaussian fitted to the training pixels."""
    out = np.empty((len(wanted), *images.shape[1:]), np.uint8)
    for c in np.unique(wanted):
        slots = np.nonzero(wanted == c)[0]
        data = images[categories == c].reshape(int((categories == c).sum()), -1).astype(np.float64)
        mean = data.mean(0)
        centred = data - mean  # (n, P): covariance = centred^T centred / (n - 1)
        e = rng.standard_normal((len(slots), len(data)))
        x = mean + e @ centred / np.sqrt(len(data) - 1)
        out[slots] = np.clip(x, 0, 255).round().astype(np.uint8).reshape(-1, *images.shape[1:])
    return out


def blurred(images: np.ndarray) -> np.ndarray:
    """3x3 binomial blur of every channel, edges replicated."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()  # (N, 4, H, W)
    k = torch.tensor([1.0, 2.0, 1.0])
    kernel = (k[:, None] * k[None, :] / 16).expand(4, 1, 3, 3)
    x = F.conv2d(F.pad(x, [1, 1, 1, 1], mode="replicate"), kernel, groups=4)
    return x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


# ---------------------------------------------------------------------------- samplers


def stylegan_sprites(
    n: int, categories: np.ndarray, rng: np.random.Generator, source: Path | None
) -> np.ndarray:
    """`stylegan-sprites-32` at psi = 1 with random noise, from a checkpoint folder (runs/...)
    or, by default, the exported model folder through ONNX Runtime."""
    source = source or REPO / "models" / "stylegan-sprites-32"
    if (source / "checkpoint-G_ema.safetensors").exists():
        from studio.nets.stylegan import StyleGANConfig, random_noise
        from studio.training.stylegan_sprites import load_generator, to_uint8

        saved = json.loads((source / "config.json").read_text(encoding="utf-8"))["net"]
        config = StyleGANConfig(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}
        )
        g = load_generator(source, config)
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        out = []
        with torch.no_grad():
            for start in range(0, n, 100):
                c = torch.from_numpy(categories[start : start + 100])
                z = torch.randn(len(c), config.z_dim, generator=gen)
                out.append(to_uint8(g(z, c, random_noise(config, len(c), gen))))
        return np.concatenate(out)
    import tomllib

    import onnxruntime as ort

    manifest = tomllib.loads((source / "manifest.toml").read_text(encoding="utf-8"))
    io = manifest["io"] | manifest.get("parameters", {})  # num_ws, num_noise: [parameters]
    mapping = ort.InferenceSession(str(source / "mapping.onnx"), providers=["CPUExecutionProvider"])
    synthesis = ort.InferenceSession(
        str(source / "synthesis.onnx"), providers=["CPUExecutionProvider"]
    )
    size = io["output"]["shape"][-1]
    out = []
    for start in range(0, n, 100):
        c = categories[start : start + 100].astype(np.int64)
        z = rng.standard_normal((len(c), io["latent"]["shape"][0])).astype(np.float32)
        w = mapping.run(None, {"z": z, "category": c})[0]
        ws = np.repeat(w[:, None], io["num_ws"], axis=1)
        noise = rng.standard_normal((len(c), io["num_noise"], size, size)).astype(np.float32)
        rgba = synthesis.run(None, {"ws": ws, "noise": noise})[0]
        x = np.clip((rgba + 1) * 127.5, 0, 255).round().astype(np.uint8)
        out.append(x.transpose(0, 2, 3, 1))
    return np.concatenate(out)


SAMPLERS: dict[str, Sampler] = {"stylegan-sprites-32": stylegan_sprites}
# the data each model is measured against: model id -> loader of (train, held-out) sprites
DATASETS = {"stylegan-sprites-32": "crawl-sprites"}


def load_crawl_sprites():
    from studio.training.sprites_data import load_or_build

    sprites = load_or_build(REPO / "runs" / "stylegan-sprites-32" / "sprites.npz")
    return sprites.split(held_out=False), sprites.split(held_out=True)


# ---------------------------------------------------------------------------- the table


NN_TOLERANCE = 0.10  # held-out's own rate is 0.05 by definition; p5 of ~300 is noisy


def evaluate(model: str, samples: int, source: Path | None, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    train, held = load_crawl_sprites()
    vgg = load_vgg()
    # every set has the held-out set's category mix, at `samples` pictures; the real and
    # baseline rows depend only on (samples, seed), so their features are cached
    wanted = np.sort(held.categories[rng.integers(len(held.categories), size=samples)])
    cache = REPO / "runs" / "image-quality" / f"crawl-sprites-{samples}-{seed}.npz"
    held_nn = nearest_distances(held.images, train.images)
    p5 = float(np.percentile(held_nn, 5))
    if cache.exists():
        with np.load(cache) as z:
            fixed = {k: z[k] for k in z.files}
    else:
        sets = {
            "floor": train.images[stratified(train.categories, wanted, rng)],
            "gaussian": pixel_gaussian(train.images, train.categories, wanted, rng),
            "blurred": blurred(train.images[stratified(train.categories, wanted, rng)]),
        }
        fixed = {"reference": features(vgg, held.images)}
        for key, pictures in sets.items():
            fixed[f"{key}_features"] = features(vgg, pictures)
            fixed[f"{key}_nn"] = nearest_distances(pictures, train.images)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **fixed)
    model_rng = np.random.default_rng(seed + 1)
    start = time.perf_counter()
    pictures = SAMPLERS[model](samples, wanted, model_rng, source)
    sample_seconds = time.perf_counter() - start
    fixed["model_features"] = features(vgg, pictures)
    fixed["model_nn"] = nearest_distances(pictures, train.images)

    reference = fixed["reference"]
    div_rng = np.random.default_rng(seed + 2)
    rows = [
        {
            "name": "held-out (reference)",
            "key": "held_out",
            "fd": 0.0,
            "nn_median": float(np.median(held_nn)),
            "nn_frac_below_p5": float((held_nn < p5).mean()),
            "diversity": diversity(reference, div_rng),
            "n": len(held.images),
        }
    ]
    names = {
        "floor": "real train vs held-out (floor)",
        "gaussian": "pixel Gaussian (per category, full cov.)",
        "blurred": "blurred real (3x3 binomial)",
        "model": model,
    }
    for key, name in names.items():
        feats, nn = fixed[f"{key}_features"], fixed[f"{key}_nn"]
        # the floor's pictures are training sprites, trivially at distance 0 from themselves
        copy_check = key != "floor"
        rows.append(
            {
                "name": name,
                "key": key,
                "fd": frechet_distance(feats, reference),
                "nn_median": float(np.median(nn)) if copy_check else None,
                "nn_frac_below_p5": float((nn < p5).mean()) if copy_check else None,
                "diversity": diversity(feats, div_rng),
                "n": len(feats),
            }
        )
    by_key = {r["key"]: r for r in rows}
    gaussian, mine = by_key["gaussian"]["fd"], by_key["model"]
    return {
        "model": model,
        "source": str(source) if source else f"models/{model}",
        "samples": samples,
        "reference": f"{len(held.images)} held-out real sprites",
        "features": "VGG-16 relu4_1 spatial mean, RGBA over grey 128, nearest x4 to 128 px",
        "held_out_nn_p5": p5,
        "sample_seconds": sample_seconds,
        "targets": {
            "fd_at_most_fifth_of_pixel_gaussian": mine["fd"] <= gaussian / 5,
            "fd_ratio_to_pixel_gaussian": mine["fd"] / gaussian,
            "no_closer_than_held_out": mine["nn_median"] >= by_key["held_out"]["nn_median"]
            and mine["nn_frac_below_p5"] <= NN_TOLERANCE,
        },
        "rows": rows,
    }


def markdown(result: dict) -> str:
    lines = [
        f"Image quality of `{result['model']}` ({result['samples']} pictures per row vs "
        f"{result['reference']}; {result['features']})",
        "",
        "| set | FD (lower is better) | NN dist. median | frac. < held-out p5 | diversity |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        nn = "—" if r["nn_median"] is None else f"{r['nn_median']:.4f}"
        frac = "—" if r["nn_frac_below_p5"] is None else f"{r['nn_frac_below_p5']:.3f}"
        lines.append(f"| {r['name']} | {r['fd']:.1f} | {nn} | {frac} | {r['diversity']:.2f} |")
    t = result["targets"]
    lines += [
        "",
        f"FD / pixel-Gaussian FD = {t['fd_ratio_to_pixel_gaussian']:.3f} (target <= 0.2: "
        f"{'met' if t['fd_at_most_fifth_of_pixel_gaussian'] else 'missed'}); samples no closer "
        f"to training sprites than held-out: {'yes' if t['no_closer_than_held_out'] else 'no'}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="stylegan-sprites-32", choices=sorted(SAMPLERS))
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--checkpoint", type=Path, default=None, help="a runs/ID folder")
    parser.add_argument("--folder", type=Path, default=None, help="an exported model folder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = evaluate(args.model, args.samples, args.checkpoint or args.folder)
    print(markdown(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

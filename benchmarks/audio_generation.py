"""WaveNet note generation: speed (cached vs naive, real-time factor) and pitch accuracy.

    python benchmarks/audio_generation.py [--model wavenet-notes-16k] [--threads 1] [--all]

1. Cached: the app's path (ONNX Runtime block graph, 64 samples a call) for one voice, and
   the same graph with four voices in one batch. Naive: the torch network recomputing its
   whole receptive field for every sample (studio.nets.wavenet.generate_naive).
   Budget (DESIGN.md §7): faster than real time at 16 kHz, >= 50x the naive recompute.
2. Pitch: notes over pitches and instruments, f0 measured on 0.25-0.75 s by subharmonic
   summation (the pitch one hears, through the model's noise) and by YIN (whether the period
   is also clean), the error in cents against the requested MIDI note (100 = a semitone).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from studio.core.audio_request import AudioRequest
from studio.core.catalog import Catalog
from studio.core.pitch import cents, estimate_f0, harmonic_f0, note_name, phase_features
from studio.engine.run import run_to_completion
from studio.engine.runtime import DeviceSettings, ModelRuntime


def cached_speed(runtime: ModelRuntime, model_id: str) -> tuple[float, float]:
    """(samples/s, real-time factor) of one voice through the app's job, best of three."""
    request = AudioRequest(model_id, pitch=60, seconds=1.0, backend="onnx")
    run_to_completion(runtime.audio_job(request))
    best = min(run_to_completion(runtime.audio_job(request)).seconds for _ in range(3))
    return 16_000 / best, 1.0 / best


def batched_speed(runtime: ModelRuntime, model_id: str, voices: int = 4) -> float:
    """Samples/s over all voices when the block graph renders `voices` notes at once."""
    family = runtime.family(model_id, "onnx")
    session, block = family.sessions["block"], family.block
    pitch = np.linspace(48, 72, voices).astype(np.float32)
    feeds = {
        "history": np.zeros((voices, *family.history_shape), np.float32),
        "previous": np.full(voices, family.silence, np.float32),
        "pitch": pitch,
        "timbre": family.table[np.arange(voices) % len(family.table)].astype(np.float32),
        "temperature": np.ones(voices, np.float32),
    }
    rng = np.random.default_rng(0)
    blocks = 16_000 // block
    start = time.perf_counter()
    for b in range(blocks):
        feeds["phase"] = phase_features(pitch, np.full(voices, b * block), block)
        feeds["uniform"] = rng.random((voices, block)).astype(np.float32)
        out = session.run(feeds)
        feeds["history"], feeds["previous"] = out["history_out"], out["previous_out"]
    return voices * blocks * block / (time.perf_counter() - start)


def naive_speed(runtime: ModelRuntime, model_id: str, threads: int, repeats: int = 20) -> float:
    """Samples/s of the naive recompute at steady state: every sample runs the network over
    a whole receptive field (what generate_naive does once the note is that long)."""
    import torch
    from safetensors.torch import load_file

    from studio.nets.wavenet import WaveNet, WaveNetConfig

    torch.set_num_threads(threads)
    spec = runtime.catalog.get(model_id).networks["block"]
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.config.items()}
    model = WaveNet(WaveNetConfig(**values)).eval()
    model.load_state_dict(load_file(str(spec.safetensors.path)))  # type: ignore[union-attr]
    window = model.config.receptive_field
    classes = torch.randint(0, 256, (1, window))
    phase = torch.from_numpy(phase_features(np.array([60.0]), np.zeros(1), window))
    timbre = model.timbre_table.weight[:1].detach()
    with torch.no_grad():
        model(classes, torch.tensor([60.0]), timbre, phase)  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            model(classes, torch.tensor([60.0]), timbre, phase)
    return repeats / (time.perf_counter() - start)


def pitch_table(runtime: ModelRuntime, model_id: str, every_instrument: bool) -> None:
    family = runtime.family(model_id, "onnx")
    instruments = family.instruments if every_instrument else family.instruments[::3]
    pitches = (48, 55, 60, 67, 72)
    print(
        "\npitch error in cents on 0.25-0.75 s: subharmonic summation (the pitch heard through"
        "\nnoise); '*' = YIN also finds a clean period there (threshold 0.15); '-' = silence"
    )
    print(f"{'instrument':<22}" + "".join(f"{note_name(p):>8}" for p in pitches))
    errors, clean = [], 0
    for name in instruments:
        row = []
        for pitch in pitches:
            request = AudioRequest(model_id, pitch=pitch, mix=((name, 1.0),), seed=1)
            steady = run_to_completion(runtime.audio_job(request)).audio[4000:12000]
            f0 = harmonic_f0(steady)
            if f0 is None:
                row.append(f"{'-':>8}")
                continue
            error = cents(f0, pitch)
            errors.append(error)
            periodic = estimate_f0(steady) is not None
            clean += periodic
            row.append(f"{error:>+7.0f}{'*' if periodic else ' '}")
        print(f"{name:<22}" + "".join(row))
    total = len(instruments) * len(pitches)
    absolute = np.abs(errors)
    print(
        f"{len(errors)}/{total} notes sound; within 50 cents of the request: "
        f"{(absolute < 50).sum()}/{total}; octave errors: {(np.abs(absolute - 1200) < 50).sum()}; "
        f"clean periodic (YIN): {clean}/{total}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="wavenet-notes-16k")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--all", action="store_true", help="every instrument in the table")
    args = parser.parse_args()
    runtime = ModelRuntime(Catalog())
    runtime.settings = DeviceSettings("cpu", args.threads)
    cached, realtime = cached_speed(runtime, args.model)
    batched = batched_speed(runtime, args.model)
    naive = naive_speed(runtime, args.model, args.threads)
    print(f"{args.model}, {args.threads} thread(s), 16 kHz")
    print(f"cached, 1 voice (the app): {cached:>9,.0f} samples/s = {realtime:.2f}x real time")
    print(f"cached, 4 voices at once:  {batched:>9,.0f} samples/s = {batched / 16_000:.2f}x")
    print(f"naive recompute (torch):   {naive:>9,.0f} samples/s")
    print(f"cached / naive: {cached / naive:.0f}x (budget >= 50x; faster than real time)")
    pitch_table(runtime, args.model, args.all)


if __name__ == "__main__":
    main()

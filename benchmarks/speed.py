"""Speed of the networks on this CPU: float32 against the fast path, training and inference.

Run: ``python benchmarks/speed.py [--steps N] [--repeats N]``. Everything runs on one
thread (per core). Prints, in one run:

1. **Training steps per second per core**, float32 (``precision: float32``, the path every
   committed network was trained on) against the fast path (``precision: auto``: bfloat16
   autocast and channels-last memory where the CPU has AVX512-BF16, else float32), and
   their ratio, for the demo U-Net (batch 8 of 48 px crops), the iron U-Net (batch 8 of
   64 px crops) and the profiles' generator (the authors' unet_16 at width 32 with its
   PatchGAN, batch 4 of 96 px crops), plus our generator variant.
2. **Where a training step's time goes**: for both U-Nets, batch preparation (crops,
   flips), standardisation, forward, loss, backward and optimiser, timed phase by phase,
   and the forward and backward passes split by torch's profiler into convolutions,
   batch norm, autocast's casts, other ops and Python (wall time no op accounts for);
   for the generator with its discriminator, the whole step split the same way.
3. **Inference** of one 400 x 400 micrograph: segmentation (U-Net probability, plus the
   threshold and watershed post-processing) and generation.
4. **Peak memory** of segmenting a 2400 x 2400 micrograph (U-Net and post-processing),
   in tiles and in one pass, each in a fresh process (Linux: its VmHWM, and the rise
   over what it held before segmenting).
5. **Start-up**: ``python -m grainlib --help`` and ``--version``.
6. **Two cores** (``--layout``): iron U-Net steps per second of the machine, one training
   on 2 threads against two trainings at once on 1 thread each (the sweep's layout).

Networks are untrained: their cost does not depend on their weights. Measured on the
2-core development machine (AMD EPYC with AVX512-BF16, torch 2.13 CPU), quiet, in
docs/method.md (speed).
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grainlib.core import config, grains  # noqa: E402
from grainlib.learn import postprocess, segment, training, transfer  # noqa: E402
from grainlib.learn import precision as amp  # noqa: E402
from grainlib.learn.nets import SegmentationUNet, crop_to, pad_to_multiple  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from segment import median_seconds, voronoi_ids  # noqa: E402  (benchmarks/segment.py)

SIDE = 400


def pairs(rng, n=16, side=128):
    """n (image, boundary map) pairs of Voronoi grains, dark boundaries on grey."""
    boundaries = np.stack([grains.boundaries(voronoi_ids(rng, side, 12)) for _ in range(n)])
    noise = rng.normal(0, 12, boundaries.shape)
    return np.clip(np.where(boundaries, 70, 190) + noise, 0, 255).astype(np.uint8), boundaries


def seconds_per_step(train, steps):
    """Median seconds per step of ``train(steps, callback)`` after 3 warm-up steps."""
    marks = []
    train(steps + 3, lambda i, losses: marks.append(time.perf_counter()))
    return float(np.median(np.diff(marks[2:])))


NETWORKS = {
    "demo U-Net (48 px crops)": ("segment", {**config.load("demo")["segment"]}),
    "iron U-Net (64 px crops)": ("segment", {**config.load("iron-sections")["segment"]}),
    "profiles' generator (authors)": ("transfer", {**config.load("demo")["transfer"]}),
    "our generator variant": ("transfer", {**config.load("demo")["transfer"], "variant": "ours",
                                           "batch_size": 8, "crop": 64}),
}


def training_table(rng, steps):
    images, boundaries = pairs(rng)
    print(f"\n1. training steps per second per core (median of {steps} steps)")
    print(f"{'network':<32} {'float32':>9} {'fast':>9} {'ratio':>6}")
    for name, (kind, params) in NETWORKS.items():
        rates = {}
        for precision in ("float32", "auto"):
            p = {**params, "precision": precision, "checkpoint_every": 1e9}
            if kind == "segment":
                def train(n, callback, p=p):
                    segment.train((images, boundaries), params={**p, "steps": n},
                                  progress=False, callback=callback)
            else:
                def train(n, callback, p=p):
                    transfer.train(boundaries, images, params={**p, "steps": n},
                                   progress=False, callback=callback)
            rates[precision] = 1 / seconds_per_step(train, steps)
        print(f"{name:<32} {rates['float32']:>7.2f}/s {rates['auto']:>7.2f}/s "
              f"{rates['auto'] / rates['float32']:>5.2f}x")


def op_shares(prof, wall: float) -> dict:
    """Shares of ``wall`` seconds in the profiled ops by kind: convolutions, batch norm,
    autocast's casts, the rest of the ops, and what no op accounts for (Python)."""
    spent = {"conv": 0.0, "batch norm": 0.0, "casts": 0.0, "other ops": 0.0}
    for event in prof.key_averages():
        kind = ("conv" if "conv" in event.key else "batch norm" if "batch_norm" in event.key
                else "casts" if event.key in ("aten::copy_", "aten::_to_copy") else "other ops")
        spent[kind] += event.self_cpu_time_total / 1e6
    spent["python"] = max(wall - sum(spent.values()), 0.0)
    return {k: v / wall for k, v in spent.items()}


def step_phases(rng, steps):
    """Milliseconds per phase of a U-Net training step, float32 and fast, and the kinds of
    op in its forward and backward passes."""
    images, boundaries = pairs(rng)
    phases = ("batch", "standardise", "forward", "loss", "backward", "optimiser")
    print("\n2. where a training step goes (ms per step; batch 8)")
    print(f"{'network':<26} {'precision':<9} " + " ".join(f"{p:>8}" for p in phases)
          + f" {'total':>7}   forward + backward: conv / batch norm / casts / other ops / "
          "python")
    for name, (kind, params) in NETWORKS.items():
        if kind != "segment":
            continue
        for precision in ("float32", "auto"):
            numeric = amp.resolve(precision, torch.device("cpu"))
            torch.manual_seed(0)
            net = amp.layout(SegmentationUNet(params["width"], params["depth"]), numeric)
            optimizer = torch.optim.Adam(net.parameters(), lr=params["lr"],
                                         **amp.adam_options(numeric))
            weight = torch.tensor([1.0, params["boundary_weight"]])
            spent = dict.fromkeys(phases, 0.0)

            def step(i, timed=True, update=True):
                t = [time.perf_counter()]
                image, label, _ = segment.training_batch(
                    training.step_rng(0, i), [(images, boundaries)], 8, params["crop"], True)
                t.append(time.perf_counter())
                x, size = pad_to_multiple(segment.standardised(image, 0.5, 0.25, "cpu"),
                                          net.multiple)
                target = torch.from_numpy(label.astype(np.int64))
                t.append(time.perf_counter())
                with amp.autocast(numeric, "cpu"):
                    logits = crop_to(net(amp.layout(x, numeric)), size)
                t.append(time.perf_counter())
                loss = F.cross_entropy(logits.float(), target, weight=weight)
                t.append(time.perf_counter())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                t.append(time.perf_counter())
                if update:
                    optimizer.step()
                t.append(time.perf_counter())
                if timed:
                    for phase, a, b in zip(phases, t, t[1:]):
                        spent[phase] += (b - a) / steps

            for i in range(3):
                step(i, timed=False)
            for i in range(steps):
                step(i)
            # the forward and backward passes alone (no update: the same work each time)
            start = time.perf_counter()
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as p:
                for i in range(5):
                    step(i, timed=False, update=False)
            shares = op_shares(p, time.perf_counter() - start)
            print(f"{name[:26]:<26} {numeric:<9} "
                  + " ".join(f"{spent[k] * 1000:>8.1f}" for k in phases)
                  + f" {sum(spent.values()) * 1000:>7.1f}   "
                  + " / ".join(f"{v:.0%}" for v in shares.values()))
    images, boundaries = pairs(rng)
    for precision in ("float32", "auto"):
        params = {**NETWORKS["profiles' generator (authors)"][1], "precision": precision,
                  "checkpoint_every": 1e9}
        transfer.train(boundaries, images, {**params, "steps": 2}, progress=False)
        start = time.perf_counter()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as p:
            transfer.train(boundaries, images, {**params, "steps": 5}, progress=False)
        wall = time.perf_counter() - start
        shares = op_shares(p, wall)
        print(f"{'generator + discriminator':<26} {amp.resolve(precision, torch.device('cpu')):<9} "
              f"whole step {wall / 5 * 1000:.0f} ms (incl. set-up): "
              + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()))


def inference_table(rng, repeats):
    print(f"\n3. inference of one {SIDE} x {SIDE} micrograph (s, median of {repeats})")
    ids = voronoi_ids(rng, SIDE, 60)
    image = np.where(grains.boundaries(ids), 70, 190).astype(np.uint8)
    labels = grains.boundaries(ids)
    demo = config.load("demo")
    torch.manual_seed(0)
    unet = segment.Segmenter(SegmentationUNet(16, 4).eval(), {**demo["segment"]})
    generator = transfer.train(labels[None], image[None], {**demo["transfer"], "steps": 1,
                                                          "crop": None}, progress=False)
    print(f"{'':<34} {'float32':>8} {'fast':>8}")
    rows = {"U-Net probability": lambda p: segment.probability(unet, image, precision=p),
            "segmentation, threshold": lambda p: _predict(unet, image, p, "threshold"),
            "segmentation, watershed": lambda p: _predict(unet, image, p, "watershed"),
            "generation (authors, eval mode)": lambda p: transfer.generate(
                generator, labels, mode="eval", precision=p),
            "generation (authors, train mode)": lambda p: transfer.generate(
                generator, labels, mode="train", precision=p)}
    for name, run in rows.items():
        times = [median_seconds(lambda p=p: run(p), repeats) for p in ("float32", "auto")]
        print(f"{name:<34} {times[0]:>8.3f} {times[1]:>8.3f}")


def _predict(model, image, precision, how):
    prob = segment.probability(model, image, precision=precision)
    ids = postprocess.grain_ids(prob, how, threshold=0.7)
    return grains.boundaries(ids)


MEMORY = """
import sys
import numpy as np, torch
torch.set_num_threads(1)
from grainlib.learn import segment
from grainlib.learn.nets import SegmentationUNet


def high_water():  # MB; VmHWM starts anew at exec (ru_maxrss would carry the parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


torch.manual_seed(0)
model = segment.Segmenter(SegmentationUNet(16, 4).eval(), {"precision": sys.argv[1]})
image = np.random.default_rng(0).integers(60, 200, (2400, 2400), dtype=np.uint8)
if sys.argv[2] == "whole":
    segment.WHOLE = image.size
before = high_water()
segment.predict(model, image)
print(before, high_water())
"""


def memory_table():
    print("\n4. peak memory of segmenting a 2400 x 2400 micrograph (MB: process peak, and "
          "its rise while segmenting)")
    for how in ("tiles", "whole"):
        for precision in ("float32", "auto"):
            out = subprocess.run([sys.executable, "-c", MEMORY, precision, how], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.split()
            before, after = map(float, out)
            print(f"{how:<6} {precision:<8} peak {after:7.0f} MB, +{after - before:6.0f} MB")


def startup_table(repeats):
    print("\n5. start-up of the command (s, median)")
    for args in (["--help"], ["--version"]):
        def run(args=args):
            subprocess.run([sys.executable, "-m", "grainlib", *args], cwd=ROOT,
                           capture_output=True, check=True)
        print(f"python -m grainlib {' '.join(args):<10} {median_seconds(run, repeats):.2f} s")


LAYOUT = """
import sys, time
import numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
from grainlib.core import config
from grainlib.learn import segment
rng = np.random.default_rng(0)
boundaries = rng.random((16, 128, 128)) < 0.15
images = np.where(boundaries, 70, 190).astype(np.uint8)
marks = []
params = {**config.load("iron-sections")["segment"], "precision": sys.argv[2],
          "steps": int(sys.argv[3]), "checkpoint_every": 1e9}
segment.train((images, boundaries), params=params, progress=False,
              callback=lambda i, losses: marks.append(time.perf_counter()))
print(1 / float(np.median(np.diff(marks[2:]))))
"""


def layout_table(steps):
    """Steps per second of the whole machine: 1 x 2 threads against 2 x 1 thread."""
    print("\n6. two cores, iron U-Net: steps per second of the machine")
    for precision in ("float32", "auto"):
        def launch(threads):
            return subprocess.Popen([sys.executable, "-c", LAYOUT, str(threads), precision,
                                     str(steps + 3)], cwd=ROOT, text=True,
                                    stdout=subprocess.PIPE)
        one = float(launch(2).communicate()[0])
        pair = [launch(1), launch(1)]
        two = sum(float(p.communicate()[0]) for p in pair)
        print(f"{precision:<8} one training x 2 threads {one:6.2f}/s, two trainings x 1 "
              f"thread {two:6.2f}/s ({two / one:.2f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps")
    parser.add_argument("--repeats", type=int, default=5, help="timed inferences (median)")
    parser.add_argument("--layout", action="store_true",
                        help="also time the two-core layouts (needs both cores quiet)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    fast = amp.resolve("auto", torch.device("cpu"))
    print(f"torch {torch.__version__}, 1 thread; the fast path on this CPU: {fast} "
          f"(AVX512-BF16: {amp.cpu_has_bfloat16()})")
    training_table(rng, args.steps)
    step_phases(rng, args.steps)
    inference_table(rng, args.repeats)
    memory_table()
    startup_table(args.repeats)
    if args.layout:
        layout_table(args.steps)


if __name__ == "__main__":
    main()

"""Batch throughput: today's one-after-the-other CLI path vs the prefetching, batching engine.

A folder of ``--films`` mixed films (the bundled samples and the shared DICOMs, copied under
new names until the count is reached) is analysed side by side in one process:

- ``sequential``: decode, analyze, write, one film after the other (the CLI before issue 13);
- ``engine bN``: :func:`rds_core.batch.run_local` with batch size N (bounded prefetch,
  batched models, background writing);
- ``engine bN onnx``: the same engine with ``--backend onnx`` (ONNX Runtime sessions with
  ``--onnx-threads`` threads; ``--onnx``);
- ``ray wK``: :func:`rds_core.ray_engine.run_ray` with K actors of one core each on a local
  Ray instance (started once, outside the timing; actor start-up and pack loading are inside).

Configurations alternate over ``--repeats`` rounds and medians are reported, so a busy
machine slows all of them alike. Also prints the per-film decode time by file kind (one core).

Usage: ``python bench/throughput.py [--films 24] [--repeats 2] [--batch-sizes 4,8] [--ray-workers 1,2]``
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rds_core.batch import Job, run_local, write_outputs  # noqa: E402
from rds_core.imaging import load_radiograph  # noqa: E402
from rds_core.pipeline import analyze, load_models  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_DICOM = ROOT.parent / "shared" / "data" / "dicom"


def film_folder(target: Path, count: int) -> list[Path]:
    """Copy the bundled samples and the shared DICOMs into ``target`` until there are ``count`` films."""
    sources = sorted(ROOT.glob("samples/*.png")) + sorted(ROOT.glob("samples/*.dcm"))
    if SHARED_DICOM.is_dir():
        sources += sorted(SHARED_DICOM.glob("*.dcm"))
    files = []
    for i in range(count):
        source = sources[i % len(sources)]
        files.append(target / f"{i:03d}_{source.name}")
        shutil.copyfile(source, files[-1])
    return files


def sequential(jobs: list[Job], out: Path, models) -> tuple[float, dict[str, list[float]]]:
    """Today's path; returns seconds and decode seconds per file suffix."""
    decode: dict[str, list[float]] = {}
    started = time.perf_counter()
    for job in jobs:
        tick = time.perf_counter()
        radiograph = load_radiograph(job.path)
        decode.setdefault(f"{job.path.suffix} {radiograph.width}x{radiograph.height}", []).append(time.perf_counter() - tick)
        write_outputs(analyze(radiograph, models), job, out)
    return time.perf_counter() - started, decode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--films", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-sizes", default="4,8")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch threads inside the engine (0 = torch's)")
    parser.add_argument("--ray-workers", default="", help="comma-separated actor counts; empty = no Ray")
    parser.add_argument("--onnx", action="store_true", help="also the engine with the ONNX Runtime backend")
    parser.add_argument("--onnx-threads", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                        help="threads of each ONNX Runtime session (default: cores - 1, as the CLI)")
    args = parser.parse_args()
    models = load_models(device=args.device)
    onnx_models = None
    if args.onnx:
        threads = torch.get_num_threads()
        torch.set_num_threads(args.onnx_threads)  # the sessions take the thread count at creation
        onnx_models = load_models(device="cpu", backend="onnx")  # exported once, outside the timing
        torch.set_num_threads(threads)
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    if args.ray_workers:
        import ray

        from rds_core.ray_engine import REPO, run_ray

        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}})
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        jobs = [Job(p, p.stem) for p in film_folder(root / "in", args.films)]
        analyze(load_radiograph(jobs[0].path), models)  # warm-up: first-call allocations
        if onnx_models is not None:
            analyze(load_radiograph(jobs[0].path), onnx_models)
        decode: dict[str, list[float]] = {}
        for _ in range(args.repeats):
            out = root / "seq"
            out.mkdir(exist_ok=True)
            took, decoded = sequential(jobs, out, models)
            seconds.setdefault("sequential", []).append(took)
            if args.threads:  # separates the effect of the thread count from prefetch and batching
                threads = torch.get_num_threads()
                torch.set_num_threads(args.threads)
                seconds.setdefault(f"sequential t{args.threads}", []).append(sequential(jobs, out, models)[0])
                torch.set_num_threads(threads)
            for key, values in decoded.items():
                decode.setdefault(key, []).extend(values)
            for size in sizes:
                out = root / f"b{size}"
                out.mkdir(exist_ok=True)
                tick = time.perf_counter()
                name = f"engine b{size}" + (f" t{args.threads}" if args.threads else "")
                outcomes = run_local(jobs, out, models, batch_size=size, threads=args.threads)
                seconds.setdefault(name, []).append(time.perf_counter() - tick)
                assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error]
                print(f"round: sequential {took:.1f} s, {name} {seconds[name][-1]:.1f} s", flush=True)
                if onnx_models is not None:
                    tick = time.perf_counter()
                    name = f"engine b{size} onnx t{args.onnx_threads}"
                    (root / f"onnx{size}").mkdir(exist_ok=True)
                    outcomes = run_local(jobs, root / f"onnx{size}", onnx_models, batch_size=size, threads=args.threads)
                    seconds.setdefault(name, []).append(time.perf_counter() - tick)
                    assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error]
                    print(f"round: {name} {seconds[name][-1]:.1f} s", flush=True)
            for count in [int(c) for c in args.ray_workers.split(",") if c]:
                tick = time.perf_counter()
                outcomes = run_ray(jobs, root / f"ray{count}", pack="rds-demo", seg_pack="lung-seg", device="cpu",
                                   batch_size=sizes[0], workers=count)
                seconds.setdefault(f"ray w{count}", []).append(time.perf_counter() - tick)
                assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error]
                print(f"round: ray w{count} {seconds[f'ray w{count}'][-1]:.1f} s", flush=True)
    base = statistics.median(seconds["sequential"])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
          f"{torch.get_num_threads()} threads, device {models.device}; {args.films} films, {args.repeats} rounds")
    print("| path | seconds (median) | films/s | vs sequential |\n|---|---|---|---|")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} | {args.films / median:.2f} | {base / median:.2f}x |")
    print("\n| file | decode ms (median, one core) |\n|---|---|")
    for key, values in sorted(decode.items()):
        print(f"| {key} | {statistics.median(values) * 1000:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m rds_core analyze FILE_OR_DIR... --out DIR`` - the research team's batch tool.

For each film it writes ``<stem>.json`` (probabilities, label, threshold, lung area, CAM
energy inside the lungs, timings, device, pack, warnings), ``<stem>_mask.png`` (lung
mask, 0/255, at the film's own size) and, unless ``--no-cam``, ``<stem>_cam.png`` (the
fused heatmap over the film). A bad file gets one line on stderr and the run goes on; the
exit status is 1 if any input failed, 2 for a usage or weight-pack problem.

Films are decoded ahead and analysed ``--batch-size`` at a time (``rds_core.batch``);
``--engine ray [--address ADDR]`` runs the same work on a Ray cluster (``docs/SCALE.md``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rds_core.errors import RdsError
from rds_core.inputs import expand_inputs

def _unique_stems(files: list[Path]) -> list[str]:
    """Output stems; films with the same name in different folders get a numeric suffix."""
    seen: dict[str, int] = {}
    stems = []
    for path in files:
        count = seen.get(path.stem, 0)
        seen[path.stem] = count + 1
        stems.append(path.stem if count == 0 else f"{path.stem}_{count}")
    return stems


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def analyze_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from rds_core.batch import Job, Outcome, run_local
    from rds_core.onnx_backend import BackendError
    from rds_core.pipeline import load_models

    files = expand_inputs(args.inputs)
    if args.dicom_out or args.dicomweb:  # DICOM results / PACS: rds_core.dicom_out (issue 12)
        from rds_core.dicom_out.runner import dicom_command

        return dicom_command(args, [Job(path, stem) for path, stem in zip(files, _unique_stems(files))])
    if not files:
        print("error: no input files found.", file=sys.stderr)
        return 2
    try:
        if args.backend == "onnx":
            import torch

            # The sessions take the thread count at creation: every core (measured 1.69x the eager
            # CLI with two session threads on 2 cores, 1.47x with one; bench/RESULTS.md).
            torch.set_num_threads(len(os.sched_getaffinity(0)))
        models = load_models(args.pack, args.seg_pack, args.device, args.backend)
    except (RdsError, ValueError, BackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failed, started = 0, time.perf_counter()
    jobs = [Job(path, stem) for path, stem in zip(files, _unique_stems(files))]
    progress = tqdm(total=len(jobs), disable=len(jobs) <= 3 or not sys.stderr.isatty(), unit="film", file=sys.stderr)

    def report(outcome: Outcome) -> None:
        nonlocal failed
        progress.update(1)
        if outcome.error is not None:
            failed += 1
            tqdm.write(f"{outcome.job.path}: {outcome.error}", file=sys.stderr)

    if args.engine == "ray":
        from rds_core.ray_engine import run_ray

        outcomes = run_ray(jobs, args.out, pack=args.pack, seg_pack=args.seg_pack, device=args.device, backend=args.backend,
                           with_cam=not args.no_cam, batch_size=args.batch_size, address=args.address,
                           workers=args.workers, on_outcome=report)
    else:
        outcomes = run_local(jobs, args.out, models, with_cam=not args.no_cam, batch_size=args.batch_size,
                             prefetch=args.prefetch, threads=args.threads, on_outcome=report)
    progress.close()
    if args.summary is not None:
        import pandas as pd

        rows = [{k: v for k, v in o.record.items() if not isinstance(v, (dict, list))}
                for o in outcomes if o.record is not None]
        pd.DataFrame(rows).to_csv(args.summary, index=False)
    done = len(files) - failed
    print(f"analysed {done} of {len(files)} films in {time.perf_counter() - started:.1f} s; {failed} failed; "
          f"results in {args.out}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rds_core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("analyze", help="segment, classify and explain films")
    run.add_argument("inputs", nargs="*", type=Path, metavar="FILE_OR_DIR")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--pack", default="rds-demo", help="classification pack name or folder")
    run.add_argument("--seg-pack", default="lung-seg", help="segmentation pack name or folder")
    run.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    run.add_argument("--backend", default="torch", choices=["torch", "onnx"],
                     help="torch (default) or onnx: ONNX Runtime on the CPU, about 1.5x faster here (exported once per pack)")
    run.add_argument("--no-cam", action="store_true", help="skip the heatmaps (faster)")
    run.add_argument("--summary", type=Path, default=None, metavar="CSV", help="also write one row per film to this CSV")
    run.add_argument("--batch-size", type=_positive, default=4, help="films per model call (default 4; 1 = one at a time)")
    run.add_argument("--prefetch", type=_positive, default=None, help="films decoded ahead (default twice the batch size)")
    run.add_argument("--threads", type=_positive, default=max(1, len(os.sched_getaffinity(0)) - 1),
                     help="torch threads for the local engine (default: cores - 1, leaving one to decode and write)")
    run.add_argument("--engine", default="local", choices=["local", "ray"], help="local (default) or a Ray cluster (docs/SCALE.md)")
    run.add_argument("--address", default=None, help="Ray cluster address (ray://HOST:10001 or auto); default: a local Ray")
    run.add_argument("--workers", type=_positive, default=None, help="Ray actors (default: one per GPU, else per core)")
    from rds_core.evaluate import add_arguments as add_evaluate_arguments, evaluate_command

    add_evaluate_arguments(sub.add_parser("evaluate", help="score a pack on labelled films (AUC, sensitivity, specificity, calibration)"))
    dicom = run.add_argument_group("DICOM results and PACS (docs/DICOM.md)")
    dicom.add_argument("--dicom-out", action="store_true",
                       help="also write <stem>.seg.dcm, .heatmap.dcm, .sr.dcm and .sc.dcm for each DICOM input")
    dicom.add_argument("--dicomweb", metavar="URL", help="read the study's CR/DX images from this DICOMweb service")
    dicom.add_argument("--study", metavar="UID", help="StudyInstanceUID to analyse with --dicomweb")
    dicom.add_argument("--push", action="store_true", help="store the DICOM results back in the PACS (STOW-RS)")
    args = parser.parse_args(argv)
    if args.command == "analyze" and not args.inputs and not args.dicomweb:
        parser.error("give FILE_OR_DIR... or --dicomweb URL --study UID")
    if args.command == "evaluate":
        return evaluate_command(args)
    return analyze_command(args)


if __name__ == "__main__":
    sys.exit(main())

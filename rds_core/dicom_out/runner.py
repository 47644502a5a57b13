"""The DICOM side of ``python -m rds_core analyze``: ``--dicom-out`` and ``--dicomweb URL --study UID [--push]``.

Films are analysed one at a time (a PACS study holds a handful), the usual JSON / PNG outputs are
written by :func:`rds_core.batch.write_outputs`, and each DICOM input also gets its four DICOM result
objects. A failed push is reported and leaves every local output in place.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from pydicom.dataset import Dataset

from rds_core.batch import Job, write_outputs
from rds_core.dicom_out.dicomweb import Pacs, PacsError
from rds_core.dicom_out.writer import build_results, read_source
from rds_core.errors import RdsError
from rds_core.imaging import load_radiograph, sniff_format
from rds_core.pipeline import Models, analyze

__all__ = ["analyse_with_dicom_results", "analyse_files", "dicom_command", "run_dicomweb"]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def analyse_with_dicom_results(films: Iterable[tuple[str, bytes, Job]], out_dir: Path, models: Models, *,
                               with_cam: bool = True) -> tuple[int, list[Dataset]]:
    """Analyse films and write all outputs; return (number failed, DICOM result objects made).

    Args:
        films: (name for messages, file bytes, job) per film.
        out_dir: existing output folder.
        models: loaded packs.
        with_cam: compute heatmaps (the heatmap SEG needs them).
    """
    failed, made = 0, []
    for name, data, job in films:
        try:
            analysis = analyze(load_radiograph(data, name=name), models, with_cam=with_cam)
            write_outputs(analysis, job, out_dir)
        except RdsError as exc:
            failed += 1
            _say(f"{job.path}: {exc}")
            continue
        except Exception as exc:  # one broken film must not stop the rest
            failed += 1
            _say(f"{job.path}: unexpected error ({type(exc).__name__}: {exc})")
            continue
        if sniff_format(data) != "dicom":
            continue  # PNG/JPEG inputs have nothing to reference: their usual outputs are enough
        try:
            results = build_results(read_source(data, name), analysis)
        except RdsError as exc:
            failed += 1
            _say(f"{job.path}: {exc}")
            continue
        except Exception as exc:  # a surprise in one film's header must not stop the rest
            failed += 1
            _say(f"{job.path}: no DICOM results (unexpected error {type(exc).__name__}: {exc}); the other results "
                 "were written.")
            continue
        for suffix, dataset in results.items():
            dataset.save_as(out_dir / f"{job.stem}{suffix}", enforce_file_format=True)
            made.append(dataset)
    return failed, made


def analyse_files(jobs: list[Job], out_dir: Path, models: Models, *, with_cam: bool = True) -> int:
    """``--dicom-out`` on local files: returns the number of films that failed."""
    unreadable = 0

    def films() -> Iterable[tuple[str, bytes, Job]]:
        nonlocal unreadable
        for job in jobs:
            try:
                data = job.path.read_bytes()
            except OSError as exc:
                unreadable += 1
                _say(f"{job.path}: could not be read ({exc.strerror}); check the file and try again.")
                continue
            yield job.path.name, data, job

    failed, _ = analyse_with_dicom_results(films(), out_dir, models, with_cam=with_cam)
    return failed + unreadable


def dicom_command(args: argparse.Namespace, jobs: list[Job]) -> int:
    """Run ``analyze`` with ``--dicom-out`` or ``--dicomweb``; exit status as the CLI documents it.

    Args:
        args: parsed CLI arguments (``out``, ``pack``, ``seg_pack``, ``device``, ``no_cam``, ``dicomweb``,
            ``study``, ``push``).
        jobs: local input films (empty with ``--dicomweb``).
    """
    from rds_core.pipeline import load_models

    if args.dicomweb and not args.study:
        _say("error: --dicomweb needs --study UID (the StudyInstanceUID to analyse).")
        return 2
    if args.push and not args.dicomweb:
        _say("error: --push needs --dicomweb URL.")
        return 2
    try:
        models = load_models(args.pack, args.seg_pack, args.device)
    except (RdsError, ValueError) as exc:
        _say(f"error: {exc}")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.dicomweb:
        total, failed, pacs_failed = run_dicomweb(args.dicomweb, args.study, args.out, models, push=args.push,
                                                  with_cam=not args.no_cam)
    else:
        total, pacs_failed = len(jobs), False
        failed = analyse_files(jobs, args.out, models, with_cam=not args.no_cam)
    _say(f"analysed {total - failed} of {total} films in {time.perf_counter() - started:.1f} s; "
         f"{failed} failed; results in {args.out}")
    return 1 if failed or pacs_failed else 0


def run_dicomweb(url: str, study_uid: str, out_dir: Path, models: Models, *, push: bool,
                 with_cam: bool = True) -> tuple[int, int, bool]:
    """Fetch the study's radiographs, analyse them, write outputs, optionally push the DICOM results.

    Returns:
        (films found, films failed, whether the study listing or the push failed).
    """
    pacs = Pacs(url)
    try:
        remote = pacs.radiographs(study_uid)
    except PacsError as exc:
        _say(f"error: {exc}.")
        return 0, 0, True
    if not remote:
        _say(f"error: the study has no CR or DX images on the PACS at {url}.")
        return 0, 0, True
    jobs = [(film.label, film.data, Job(Path(film.label), film.sop_uid)) for film in remote]
    failed, made = analyse_with_dicom_results(jobs, out_dir, models, with_cam=with_cam)
    if push and made:
        try:
            pacs.store(made)
        except PacsError as exc:
            _say(f"error: {exc}; the results are still in {out_dir}.")
            return len(remote), failed, True
        _say(f"pushed {len(made)} result objects to {url}")
    return len(remote), failed, False

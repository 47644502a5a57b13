"""Batch analysis of many films on one machine: the engine behind ``python -m rds_core analyze``.

Three stages overlap: a small thread pool decodes the next films (a bounded prefetch, so a
folder of 100,000 films never sits in memory), the models analyse ready films in batches
of ``batch_size`` (:func:`rds_core.pipeline.analyze_batch`), and another thread writes the
outputs. Decoding (Pillow, OpenJPEG, CharLS) and PNG encoding (zlib) release the GIL, so on
a 2-core machine they run while PyTorch holds the other core.

Outputs per film, as the CLI documents them: ``<stem>.json``, ``<stem>_mask.png`` (0/255 at
the film's size) and, with maps, ``<stem>_cam.png`` (the fused heatmap over the film).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from rds_core.errors import RdsError
from rds_core.imaging import load_radiograph
from rds_core.imaging.radiograph import Radiograph
from rds_core.pipeline import Analysis, Models, analyze_batch
from rds_core.render import overlay

__all__ = ["Job", "Outcome", "prefetched", "write_outputs", "run_local"]


@dataclass(frozen=True)
class Job:
    """One input film and the stem its outputs are written under."""

    path: Path
    stem: str


@dataclass(frozen=True)
class Outcome:
    """What happened to one film: its JSON record, or the one-line reason it failed."""

    job: Job
    record: dict[str, object] | None = None
    error: str | None = None


def _describe(exc: BaseException) -> str:
    """The line printed for a failed film (typed errors carry their own sentence)."""
    return str(exc) if isinstance(exc, RdsError) else f"unexpected error ({type(exc).__name__}: {exc})"


def prefetched(jobs: Iterable[Job], prefetch: int = 4, workers: int = 1) -> Iterator[tuple[Job, Radiograph | str]]:
    """Decode films ahead of their use, at most ``prefetch`` in flight, in input order.

    Yields (job, radiograph) or (job, error sentence) for a film that could not be read.
    """
    if prefetch < 1 or workers < 1:
        raise ValueError(f"prefetch and workers must be at least 1, got {prefetch} and {workers}.")
    queue: deque[tuple[Job, Future[Radiograph]]] = deque()
    remaining = iter(jobs)
    with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
        def submit() -> None:
            job = next(remaining, None)
            if job is not None:
                queue.append((job, pool.submit(load_radiograph, job.path)))

        for _ in range(prefetch):
            submit()
        while queue:
            job, future = queue.popleft()
            submit()
            try:
                yield job, future.result()
            except Exception as exc:  # one broken film must not stop a batch of hundreds
                yield job, _describe(exc)


def write_outputs(result: Analysis, job: Job, out_dir: Path) -> dict[str, object]:
    """Write the JSON record, the mask and (when computed) the heatmap of one film; return the record."""
    record = result.summary()
    record["source"] = str(job.path)
    (out_dir / f"{job.stem}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    Image.fromarray(result.lung_mask.astype("uint8") * 255).save(out_dir / f"{job.stem}_mask.png")
    if result.cams is not None:
        picture = overlay(result.display, heatmap=result.cams.fused, opacity=0.5, lung_mask=result.lung_mask_display)
        Image.fromarray(picture).save(out_dir / f"{job.stem}_cam.png")
    return record


def _batches(items: Iterator[tuple[Job, Radiograph | str]], size: int) -> Iterator[tuple[list[tuple[Job, Radiograph]], list[Outcome]]]:
    """Group decoded films into batches of ``size``; failures travel with the next batch."""
    ready: list[tuple[Job, Radiograph]] = []
    failed: list[Outcome] = []
    for job, item in items:
        if isinstance(item, str):
            failed.append(Outcome(job, error=item))
        else:
            ready.append((job, item))
        if len(ready) >= size:
            yield ready, failed
            ready, failed = [], []
    if ready or failed:
        yield ready, failed


def _analysed(ready: list[tuple[Job, Radiograph]], models: Models, with_cam: bool) -> list[tuple[Job, Analysis | str]]:
    """Analyse a batch; if it fails, film by film, so one bad film costs only itself."""
    try:
        results = analyze_batch([r for _, r in ready], models, with_cam=with_cam)
        return [(job, result) for (job, _), result in zip(ready, results)]
    except Exception:
        if len(ready) == 1:
            raise
    out: list[tuple[Job, Analysis | str]] = []
    for job, radiograph in ready:
        try:
            out.append((job, analyze_batch([radiograph], models, with_cam=with_cam)[0]))
        except Exception as exc:
            out.append((job, _describe(exc)))
    return out


@contextmanager
def _restore_threads(count: int) -> Iterator[None]:
    try:
        yield
    finally:
        torch.set_num_threads(count)


def run_local(
    jobs: list[Job],
    out_dir: Path,
    models: Models,
    *,
    with_cam: bool = True,
    batch_size: int = 4,
    prefetch: int | None = None,
    decode_workers: int = 1,
    threads: int | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Analyse ``jobs`` on this machine and write their outputs under ``out_dir``.

    Args:
        jobs: films and output stems (stems must be unique).
        out_dir: existing folder for the outputs.
        models: loaded packs.
        with_cam: compute and write the heatmaps.
        batch_size: films per model call (1 = one film at a time, exactly :func:`analyze`).
        prefetch: films decoded ahead; default twice the batch size.
        decode_workers: decoding threads.
        threads: torch intra-op threads while the batch runs (restored afterwards); None keeps
            torch's setting. Fewer than the cores leaves one to decoding and writing, which on
            a small machine beats two threads contending with them (``bench/RESULTS.md``).
        on_outcome: called once per film as it finishes (progress, logging).

    Returns:
        One :class:`Outcome` per job, in input order.
    """
    if batch_size < 1:
        raise ValueError(f"The batch size must be at least 1, got {batch_size}.")
    outcomes: dict[Job, Outcome] = {}

    def record(outcome: Outcome) -> None:
        outcomes[outcome.job] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    def write(result: Analysis, job: Job) -> Outcome:
        try:
            return Outcome(job, record=write_outputs(result, job, out_dir))
        except Exception as exc:
            return Outcome(job, error=_describe(exc))

    pending: deque[Future[Outcome]] = deque()
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(max(1, threads))
    with _restore_threads(previous_threads), ThreadPoolExecutor(1, thread_name_prefix="write") as writer:
        for ready, failed in _batches(prefetched(jobs, prefetch or 2 * batch_size, decode_workers), batch_size):
            for outcome in failed:
                record(outcome)
            if not ready:
                continue
            for job, result in _analysed(ready, models, with_cam):
                if isinstance(result, str):
                    record(Outcome(job, error=result))
                else:
                    pending.append(writer.submit(write, result, job))
            # Bounded: never let finished analyses pile up faster than they are written.
            while len(pending) > 2 * batch_size or (pending and pending[0].done()):
                record(pending.popleft().result())
        while pending:
            record(pending.popleft().result())
    return [outcomes[job] for job in jobs]

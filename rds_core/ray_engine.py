"""The batch on a Ray cluster (``python -m rds_core analyze --engine ray [--address ADDR]``).

An actor pool: each actor loads the packs once (one actor per GPU when the cluster has
GPUs, else one per ``cpus_per_worker`` cores), reads its films itself and writes their
outputs where the local engine writes them, by running :func:`rds_core.batch.run_local` on
chunks of the job list. So the two engines share every line that touches a film and their
outputs are the same files (``tests/test_batch_ray.py`` compares them). The output folder
and the inputs must be reachable by the same path on every node (a shared file system).
See ``docs/SCALE.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rds_core.batch import Job, Outcome, run_local

__all__ = ["BatchWorker", "run_ray"]

REPO = Path(__file__).resolve().parents[1]


class BatchWorker:
    """One Ray actor's state: the loaded packs and the run settings."""

    def __init__(self, pack: str, seg_pack: str, device: str, out_dir: str, with_cam: bool, batch_size: int,
                 threads: int, backend: str = "torch") -> None:
        import torch

        from rds_core.pipeline import load_models

        torch.set_num_threads(max(1, threads))  # the cores Ray gave this actor, not the whole node
        self.models = load_models(pack, seg_pack, device, backend)
        self.out_dir = Path(out_dir)
        self.with_cam = with_cam
        self.batch_size = batch_size

    def run(self, jobs: list[Job]) -> list[Outcome]:
        """Analyse a chunk of films and write their outputs."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return run_local(jobs, self.out_dir, self.models, with_cam=self.with_cam, batch_size=self.batch_size)


def run_ray(
    jobs: list[Job],
    out_dir: Path,
    *,
    pack: str | Path,
    seg_pack: str | Path,
    device: str = "auto",
    backend: str = "torch",
    with_cam: bool = True,
    batch_size: int = 4,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: int = 1,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Analyse ``jobs`` with a pool of Ray actors; same outputs as :func:`rds_core.batch.run_local`.

    Args:
        jobs: films and unique output stems.
        out_dir: output folder, on a file system every node sees.
        pack, seg_pack: pack names or folders (resolved here, so every actor loads the same folder).
        device: ``auto`` gives each actor one GPU when the cluster has GPUs.
        with_cam: compute and write the heatmaps.
        batch_size: films per model call inside each actor.
        address: a running cluster (``ray://host:10001`` or ``auto``); None starts or reuses a
            local instance.
        workers: actors; default one per GPU, else one per ``cpus_per_worker`` cores.
        cpus_per_worker: cores reserved by each CPU actor (its torch threads).
        on_outcome: called once per film as its chunk finishes.

    Returns:
        One :class:`~rds_core.batch.Outcome` per job, in input order.
    """
    import ray
    from ray.util import ActorPool

    from rds_core.models.packs import resolve_pack_dir

    if batch_size < 1 or cpus_per_worker < 1 or (workers is not None and workers < 1):
        raise ValueError("batch_size, cpus_per_worker and workers must be at least 1.")
    if not ray.is_initialized():
        # Workers import rds_core from this checkout and must not retry the model hub.
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               "HF_HUB_OFFLINE": "1"}
        ray.init(address=address, runtime_env={"env_vars": env}, include_dashboard=False, log_to_driver=False)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if device in ("auto", "cuda") else 0
    count = workers or (gpus if gpus else max(1, int(resources.get("CPU", 1)) // cpus_per_worker))
    actor = ray.remote(num_cpus=cpus_per_worker, num_gpus=1 if gpus else 0)(BatchWorker)
    settings = (str(resolve_pack_dir(pack).resolve()), str(resolve_pack_dir(seg_pack).resolve()),
                "cuda" if gpus else ("cpu" if device == "auto" else device), str(Path(out_dir).resolve()),
                with_cam, batch_size, cpus_per_worker, "torch" if gpus else backend)
    pool = ActorPool([actor.remote(*settings) for _ in range(count)])
    # Chunks of a few batches: big enough to keep an actor's prefetch busy, small enough to balance.
    chunk = 2 * batch_size
    outcomes: list[Outcome] = []
    for finished in pool.map(lambda a, part: a.run.remote(part), [jobs[i : i + chunk] for i in range(0, len(jobs), chunk)]):
        for outcome in finished:
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    return outcomes

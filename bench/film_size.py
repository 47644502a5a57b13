"""``analyze()`` time on a 512 px film vs hospital-size films, interleaved in one process.

Decoding is timed apart (it is not part of ``analyze()``). Target of issue 13: the 2000x2128
film's analysis takes at most 1.25x the 512 px film's.

Usage: ``python bench/film_size.py [--runs 10]``; needs ``../shared/data/dicom`` for the big films.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rds_core.imaging import load_radiograph  # noqa: E402
from rds_core.pipeline import analyze, load_models  # noqa: E402

FILMS = ("samples/kermany_normal_01.png", "../shared/data/dicom/RG1_JLSN.dcm", "../shared/data/dicom/RG1_J2KI.dcm",
         "../shared/data/dicom/966_fixed.dcm")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    models = load_models()
    films, decode = {}, {}
    for name in FILMS:
        path = ROOT / name
        if path.exists():
            tick = time.perf_counter()
            films[name] = load_radiograph(path)
            decode[name] = (time.perf_counter() - tick) * 1000
            analyze(films[name], models)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in films}
    stages: dict[str, dict[str, list[float]]] = {name: {} for name in films}
    for _ in range(args.runs):
        for name, film in films.items():
            tick = time.perf_counter()
            result = analyze(film, models)
            times[name].append((time.perf_counter() - tick) * 1000)
            for stage, ms in result.timings_ms.items():
                stages[name].setdefault(stage, []).append(ms)
    base = statistics.median(times[FILMS[0]])
    print("| film | size | decode ms | analyze() ms (median) | segmentation | classification | explanation | vs 512 px |")
    print("|---|---|---|---|---|---|---|---|")
    for name, film in films.items():
        median = statistics.median(times[name])
        parts = [f"{statistics.median(stages[name].get(s, [0])):.0f}" for s in ("segmentation", "classification", "explanation")]
        print(f"| {Path(name).name} | {film.width}x{film.height} | {decode[name]:.0f} | {median:.0f} | {' | '.join(parts)} | {median / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Preview the simulated RDS pattern: a grid of real paediatric films at grades I-IV.

Rows are films (normal paediatric films from ``lung_seg``, source ``kermany_v7``);
columns are the untouched film, then grades I-IV. It also prints the time per call.
This is a visual check for people, not a test.

Usage:
    python bench/simulate_preview.py [--data ../shared/data/lung_seg] [--films 4]
        [--seed 0] [--tile 384] [--out bench/simulate_preview.png]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rds_core.train.simulate import GRADES, simulate_rds  # noqa: E402

__all__ = ["main"]

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _pick_films(data: Path, n: int, seed: int) -> list[dict[str, str]]:
    with open(data / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["source_dataset"] == "kermany_v7" and r["label"] == "normal"]
    if not rows:
        raise SystemExit(f"No kermany_v7 normal films listed in {data / 'manifest.csv'}.")
    order = np.random.default_rng(seed).permutation(len(rows))[:n]
    return [rows[i] for i in sorted(order)]


def _tile(arr: np.ndarray, size: int, caption: str) -> Image.Image:
    img = Image.fromarray(np.round(arr * 255).astype(np.uint8)).resize((size, size), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, size, 16), fill=0)
    draw.text((4, 2), caption, fill=255)
    return img


def main(argv: list[str] | None = None) -> int:
    """Render the preview grid.

    Args:
        argv: command-line arguments (None: sys.argv).

    Returns:
        Process exit code.
    """
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=here.parents[1] / "shared" / "data" / "lung_seg")
    ap.add_argument("--films", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tile", type=int, default=384)
    ap.add_argument("--strength", type=float, default=None, help="fixed strength (default: random)")
    ap.add_argument("--out", type=Path, default=here / "simulate_preview.png")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    rows, times, cpu = [], [], []
    for rec in _pick_films(args.data, args.films, args.seed):
        image = np.asarray(Image.open(args.data / rec["file"]).convert("L"), dtype=np.float32) / 255.0
        mask = np.asarray(Image.open(args.data / rec["mask"]).convert("L")) > 127
        tiles = [_tile(image, args.tile, f"{Path(rec['file']).stem}  original")]
        for grade in GRADES:
            t0, c0 = time.perf_counter(), time.process_time()
            film = simulate_rds(image, mask, grade, rng, strength=args.strength)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            tiles.append(_tile(film.image, args.tile, f"grade {_ROMAN[grade]}  strength {film.strength:.2f}"))
        rows.append(tiles)

    grid = Image.new("L", (args.tile * len(rows[0]), args.tile * len(rows)))
    for r, tiles in enumerate(rows):
        for c, tile in enumerate(tiles):
            grid.paste(tile, (c * args.tile, r * args.tile))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.out)
    ms, cpu_ms = 1000 * np.asarray(times), 1000 * np.asarray(cpu)
    # CPU time is what the simulator costs; wall time also counts other jobs on the machine.
    print(
        f"wrote {args.out} ({len(rows)} films x {len(GRADES)} grades); simulate_rds wall "
        f"median {np.median(ms):.0f} ms (max {ms.max():.0f}), CPU median {np.median(cpu_ms):.0f} ms "
        f"(max {cpu_ms.max():.0f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

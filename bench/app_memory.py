"""Peak memory of an app-like process: Streamlit imported, every shipped pack loaded, one analysis.

Mirrors what ``app.py`` holds once a visitor has clicked: the Streamlit runtime modules, the
lung pack with each classification pack (``pages/_packs.py`` caches up to three), and one result.

Usage: ``python bench/app_memory.py [--film samples/kermany_normal_01.png]``; prints MB.
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--film", type=Path, default=ROOT / "samples" / "kermany_normal_01.png")
    args = parser.parse_args()
    import streamlit  # noqa: F401  (the app process has it loaded)

    from rds_core.imaging import load_radiograph
    from rds_core.models.packs import default_weights_dir, read_manifest
    from rds_core.pipeline import analyze, load_models

    print(f"after imports: {peak_mb():.0f} MB")
    packs = [d.name for d in sorted(default_weights_dir().iterdir())
             if (d / "manifest.json").exists() and read_manifest(d).task == "classification"]
    models = [load_models(name, "lung-seg", "cpu") for name in packs]
    print(f"after loading {len(packs)} classification packs + lung-seg: {peak_mb():.0f} MB")
    analyze(load_radiograph(args.film), models[0])
    print(f"peak after one analysis: {peak_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

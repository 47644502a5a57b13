"""Command-line options shared by ``seg`` and ``cls`` (same names, same meaning, one definition)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_path_options", "add_start_options", "add_run_options"]


def add_path_options(parser: argparse.ArgumentParser) -> None:
    """``--root`` and ``--strip-prefix``: where a table's paths start, as in ``prepare``."""
    parser.add_argument("--root", type=Path, default=None, help="folder the table's paths start from (default: the CSV's folder)")
    parser.add_argument("--strip-prefix", default="", help="remove this from the start of every path, e.g. C:/dataset/")


def add_start_options(parser: argparse.ArgumentParser, pack_example: str) -> None:
    """``--pretrained`` | ``--init-weights FILE`` | ``--init-from PACK`` (one at most)."""
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--pretrained", action="store_true", help="start from the hub's ImageNet weights (needs internet)")
    start.add_argument("--init-weights", type=Path, default=None,
                       help="start from a local timm/torchvision checkpoint (RGB stem summed to grey)")
    start.add_argument("--init-from", default=None, help=f"start from a weight pack (name or folder), {pack_example}")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Seed, device, threads, resume and TensorBoard."""
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    parser.add_argument("--resume", action="store_true", help="continue the run folder's run (refused if arguments or data differ)")
    parser.add_argument("--no-tensorboard", dest="tensorboard", action="store_false", help="do not write TensorBoard logs")

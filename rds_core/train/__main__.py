"""``python -m rds_core.train {prepare,seg,cls}`` - the research team's training commands."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "prepare": ("rds_core.train.prepare", "convert a DICOM/PNG + JSON + CSV dataset into PNGs, masks and 5 folds"),
    "seg": ("rds_core.train.seg", "train a lung-segmentation U-Net and write its weight pack"),
    "cls": ("rds_core.train.cls", "train the five fold classifiers and write their weight pack"),
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the module docstring's layout and show each option's default (unless its help names one)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, True, "", argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def main(argv: list[str] | None = None) -> int:
    """Run one training command; return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m rds_core.train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    argv = sys.argv[1:] if argv is None else argv
    chosen = None
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, formatter_class=HelpFormatter)
        # Import only the command being run: each pulls in torch and its own dependencies.
        if argv and argv[0] == name:
            chosen = importlib.import_module(module_name)
            command.description = chosen.__doc__
            chosen.add_arguments(command)
    args = parser.parse_args(argv)
    assert chosen is not None
    return int(chosen.run(args))


if __name__ == "__main__":
    sys.exit(main())

"""Export of the reads for the reference MRMC software, and reading the exports back.

Two files, because the three reference programs do not share one input format:

**Long CSV** (`write_long_csv`), one row per read, header line, comma separated::

    readerID,modalityID,caseID,truth,score,reader,modality,case
    1,1,1,0,12.5,R01,aided,case-007

============  ==================================================================
readerID      reader as an integer 1..r (readers in sorted order)
modalityID    the study arm (the reference programs' modality) as an integer 1..t (sorted order; 1 - 2 is the
              difference `study.analysis.mrmc` reports by default)
caseID        case as an integer 1..K (sorted order)
truth         0 = non-diseased, 1 = diseased
score         the rating (higher = more likely diseased)
reader,       the original labels, after the five analysis columns
modality,
case
============  ==================================================================

The first five columns are, in this order, the Iowa OR-DBM MRMC ``.csv`` layout (reader,
treatment, case, truth, rating), which RJafroc reads as is with
``DfReadDataFile("reads.csv", format = "MRMC")`` (it uses the first five columns by position
and needs integer IDs; the label columns after them are ignored). MRMCaov reads it with
``mrmc(empirical_auc(truth, score), modalityID, readerID, caseID, data = read.csv("reads.csv"))``
and iMRMC's R package with ``createIMRMCdf(df, list(readerID = "readerID", caseID = "caseID",
modalityID = "modalityID", score = "score", truth = "truth"), 1)``.

**iMRMC file** (`write_imrmc`, extension ``.imrmc``): the iMRMC input format, read as is by the
iMRMC Java program and by RJafroc ``DfReadDataFile("reads.imrmc", format = "iMRMC")``: a free
text description, the lines ``NR: r``, ``N0: m``, ``N1: n``, ``NM: t``, the line
``BEGIN DATA:``, one truth row per case ``-1,caseID,0,truth`` and one row per read
``readerID,caseID,modalityID,score`` (same integer IDs as the long CSV).

**Spreadsheet safety.** A text cell of the long CSV that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is written with a leading ``'`` so that a spreadsheet opening
the file shows it as text instead of running it as a formula (CSV injection, OWASP);
`read_long_csv` removes that quote again. Numbers (e.g. a negative score) are not touched.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from study.analysis.errors import ReadTableError
from study.analysis.table import (
    MRMC_COLUMNS,
    binary_column,
    check_truth,
    label_values,
    numeric_column,
    require_columns,
    sorted_labels,
)

__all__ = [
    "LONG_COLUMNS",
    "FORMULA_PREFIXES",
    "neutralise_formulas",
    "to_long_format",
    "write_long_csv",
    "read_long_csv",
    "to_imrmc_text",
    "write_imrmc",
    "read_imrmc",
]

#: Analysis columns of the long CSV, in file order.
LONG_COLUMNS: tuple[str, ...] = ("readerID", "modalityID", "caseID", "truth", "score")


#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'``.

    Args:
        values: a column about to be written to CSV.

    Returns:
        The column with every text value starting with one of `FORMULA_PREFIXES` quoted;
        numbers and other text unchanged.
    """
    def quote(value: object) -> object:
        if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
            return "'" + value
        return value

    return values.map(quote)


def _unquote(values: pd.Series) -> pd.Series:
    def unquote(value: object) -> object:
        if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
            return value[1:]
        return value

    return values.map(unquote)


def _codes(values: pd.Series) -> pd.Series:
    labels = sorted_labels(values)
    return pd.Series(pd.Categorical(values, categories=labels).codes + 1, index=values.index)


def to_long_format(reads: pd.DataFrame) -> pd.DataFrame:
    """The long-format export table (see the module docstring).

    Args:
        reads: tidy table with reader, arm, case, truth, rating.

    Returns:
        DataFrame with `LONG_COLUMNS` then the label columns reader, modality (the arm), case; rows
        sorted by readerID, modalityID, caseID.
    """
    require_columns(reads, MRMC_COLUMNS, "The export")
    check_truth(reads)
    long = pd.DataFrame(
        {
            "readerID": _codes(reads["reader"]),
            "modalityID": _codes(reads["arm"]),
            "caseID": _codes(reads["case"]),
            "truth": binary_column(reads, "truth").astype(int),
            "score": numeric_column(reads, "rating"),
            "reader": reads["reader"],
            "modality": reads["arm"],  # the file's name for the arm (all three reference programs)
            "case": reads["case"],
        }
    )
    return long.sort_values(["readerID", "modalityID", "caseID"]).reset_index(drop=True)


def write_long_csv(reads: pd.DataFrame, path: str | Path) -> Path:
    """Write the long-format CSV.

    Args:
        reads: tidy table with reader, arm, case, truth, rating.
        path: destination file.

    Returns:
        The path written.
    """
    path = Path(path)
    long = to_long_format(reads)
    for column in ("reader", "modality", "case"):
        long[column] = neutralise_formulas(long[column])
    # repr-exact floats so that reading back gives the same ratings bit for bit.
    with path.open("w", newline="") as handle:
        handle.write(",".join(long.columns) + "\n")  # plain header: RJafroc reads it by position
        # Text quoted, so a tab or carriage return inside a label cannot split the row.
        long.to_csv(handle, index=False, header=False, float_format="%.17g",
                    quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    return path


def read_long_csv(path: str | Path) -> pd.DataFrame:
    """Read a long-format CSV back into the tidy table.

    Uses the label columns when present, else the integer IDs.

    Args:
        path: a file written by `write_long_csv` (or any file with `LONG_COLUMNS`).

    Returns:
        Tidy table with reader, arm, case, truth, rating.
    """
    labels = {c: str for c in ("reader", "modality", "case")}
    long = pd.read_csv(path, dtype=labels, keep_default_na=False, na_values={"score": [""], "truth": [""]})
    require_columns(long, LONG_COLUMNS, "Reading a long-format export")
    for column in labels:
        if column in long:
            # Text as written (so "007" and "7" stay two cases), numbers when all are integers.
            long[column] = label_values(_unquote(long[column]))
    source = {
        "reader": "reader" if "reader" in long else "readerID",
        "arm": "modality" if "modality" in long else "modalityID",
        "case": "case" if "case" in long else "caseID",
    }
    return pd.DataFrame(
        {
            **{name: long[column] for name, column in source.items()},
            "truth": long["truth"],
            "rating": long["score"],
        }
    )


def to_imrmc_text(reads: pd.DataFrame, *, description: str = "Reader study export") -> str:
    """The iMRMC input file as text (see the module docstring).

    Args:
        reads: tidy table with reader, arm, case, truth, rating.
        description: free text placed before the counts.

    Returns:
        The file content.
    """
    long = to_long_format(reads)
    truth = long.drop_duplicates("caseID").sort_values("caseID")
    lines = [line.strip() for line in description.splitlines()]
    if any(line.startswith(("NR:", "N0:", "N1:", "NM:", "BEGIN DATA")) for line in lines):
        raise ReadTableError("The description must not contain iMRMC keywords (NR:, BEGIN DATA ...).")
    lines += [
        f"NR: {long['readerID'].nunique()}",
        f"N0: {int((truth['truth'] == 0).sum())}",
        f"N1: {int((truth['truth'] == 1).sum())}",
        f"NM: {long['modalityID'].nunique()}",
        "",
        "BEGIN DATA:",
    ]
    lines += [f"-1,{case},0,{value}" for case, value in zip(truth["caseID"], truth["truth"])]
    lines += [
        f"{r},{c},{m},{s!r}"
        for r, c, m, s in zip(long["readerID"], long["caseID"], long["modalityID"],
                              long["score"].astype(float).tolist())
    ]
    return "\n".join(lines) + "\n"


def write_imrmc(reads: pd.DataFrame, path: str | Path, *, description: str = "Reader study export") -> Path:
    """Write the iMRMC input file.

    Args:
        reads: tidy table with reader, arm, case, truth, rating.
        path: destination, conventionally ending in ``.imrmc``.
        description: free text placed before the counts.

    Returns:
        The path written.
    """
    path = Path(path)
    path.write_text(to_imrmc_text(reads, description=description), encoding="utf-8")
    return path


def read_imrmc(path: str | Path) -> pd.DataFrame:
    """Read an iMRMC input file into the tidy table (labels are the file's IDs).

    Args:
        path: an ``.imrmc`` file.

    Returns:
        Tidy table with reader, arm, case, truth, rating.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "BEGIN DATA:") + 1
    except StopIteration:
        raise ReadTableError(f"{Path(path).name} has no 'BEGIN DATA:' line; it is not an iMRMC file.") from None
    rows = [[field.strip() for field in line.split(",")] for line in lines[start:] if line.strip()]
    if any(len(row) != 4 for row in rows):
        raise ReadTableError(f"{Path(path).name}: every data row needs four comma-separated fields.")
    data = pd.DataFrame(rows, columns=["reader", "case", "arm", "score"])
    truth_rows = data["reader"] == "-1"
    truth = pd.to_numeric(data.loc[truth_rows, "score"]).set_axis(data.loc[truth_rows, "case"])
    reads = data[~truth_rows]
    missing = sorted(set(reads["case"]) - set(truth.index))
    if missing:
        raise ReadTableError(f"Case {missing[0]} has no truth row (-1,case,0,truth) in {Path(path).name}.")
    return pd.DataFrame(
        {
            "reader": _maybe_int(reads["reader"]),
            "arm": _maybe_int(reads["arm"]),
            "case": _maybe_int(reads["case"]),
            "truth": reads["case"].map(truth).astype(int).to_numpy(),
            "rating": pd.to_numeric(reads["score"]).to_numpy(),
        }
    )


def _maybe_int(values: pd.Series) -> object:
    """IDs as integers when they all are (so they sort numerically), else as text."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and (numbers == numbers.round()).all():
        return numbers.astype(int).to_numpy()
    return values.to_numpy()

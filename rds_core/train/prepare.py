"""Convert the team's dataset (CSV + DICOM/PNG + lung JSON) into PNGs, masks and 5 folds.

Input: a CSV with the columns ``filepath, rds, exist_json`` (``roi_area, height, width``
are recomputed, any other column is kept), the images it names (DICOM or PNG,
paths relative to the CSV's folder or to --root) and one JSON of lung polygons per image
(LabelMe or a plain list of polygons) next to the image (``<stem>.json``) or under
--json-dir.

Output in --out: ``images/<id>.png`` (8-bit grey, LUTs applied), ``masks/<id>.png``
(0/255), ``dataset.csv``, ``dataset_fold_{k}_5.csv`` and ``rejected.csv``. Bad rows are
skipped and listed with the reason. Reruns rewrite only files whose content changed.
The format is documented in docs/DATASET.md.

Exit status: 0 when at least one row was prepared, 1 when none was, 2 when the CSV itself
cannot be used.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from rds_core.errors import RdsError
from rds_core.imaging import load_radiograph
from rds_core.train.folds import assign_folds
from rds_core.train.labels import parse_flag, parse_label, patient_of
from rds_core.train.polygons import DEFAULT_LUNG_LABEL, AnnotationError, read_lung_annotation, rasterise
from rds_core.train.table import normalise_path

__all__ = [
    "REQUIRED_COLUMNS",
    "PrepareError",
    "PrepareOptions",
    "Rejection",
    "PrepareReport",
    "output_id",
    "prepare_dataset",
    "add_arguments",
    "run",
]

REQUIRED_COLUMNS = ("filepath", "rds", "exist_json")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:/")
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]  # level 3: near the best size at a fraction of 9's time


class PrepareError(RdsError):
    """The dataset as a whole cannot be prepared (CSV missing, unreadable or lacking columns)."""


@dataclass(frozen=True)
class PrepareOptions:
    """How to find the files and what to write.

    Attributes:
        root: folder the CSV's relative file paths start from (default: the CSV's folder).
        json_dir: folder holding the JSON files (default: next to each image).
        strip_prefix: text removed from the start of every filepath (e.g. ``C:/data/``).
        patient_column: CSV column with the patient id; the file stem when absent or empty.
        lung_label: regular expression selecting lung shapes in LabelMe JSON.
        bits: 8 (default) or 16 bits per pixel in the output images.
        n_folds: number of cross-validation folds.
        encoding: CSV text encoding, or ``"auto"`` (UTF-8, then CP949 for Korean Excel).
        folds_from: the team's own fold tables, a pattern with ``{k}`` such as
            ``dataset_fold_{k}_5.csv`` (relative to the working folder or the CSV's folder);
            their folds are kept instead of dealing new ones.
    """

    root: Path | None = None
    json_dir: Path | None = None
    strip_prefix: str = ""
    patient_column: str = "patient_id"
    lung_label: str = DEFAULT_LUNG_LABEL
    bits: int = 8
    n_folds: int = 5
    encoding: str = "auto"
    folds_from: str = ""


@dataclass(frozen=True)
class Rejection:
    """A skipped CSV row: ``row`` is its line number in the CSV (the header is line 1)."""

    row: int
    filepath: str
    reason: str


@dataclass
class PrepareReport:
    """What a run did; ``dataset`` is exactly what ``dataset.csv`` holds."""

    total_rows: int
    dataset: pd.DataFrame
    rejections: list[Rejection]
    written: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Prepared:
    index: int
    image: str
    mask: str
    roi_area: int | None
    height: int
    width: int
    patient_id: str
    patient_source: str  # "column", "dicom" or "file name"
    rds: int
    exist_json: int
    key: str
    scaled: bool


@dataclass(frozen=True)
class _Context:
    """What every row's conversion needs besides the row itself."""

    base: Path
    options: PrepareOptions
    stem_count: Counter[str]
    team_folds: dict[str, int] | None = None  # normalised filepath -> the team's fold


def output_id(filepath: str) -> str:
    """Stable file id for a CSV filepath: sanitised stem + ``_`` + 10 hex digits of its sha1.

    The hash keeps two ``001.dcm`` in different folders apart; the stem keeps the name
    readable. Only the filepath (as normalised from the CSV) matters, so a rerun, another
    --root or another machine gives the same id.

    Args:
        filepath: the normalised filepath (forward slashes, prefix stripped).
    """
    digest = hashlib.sha1(filepath.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(filepath).stem).strip("._-")[:40] or "image"
    return f"{stem}_{digest}"


def prepare_dataset(csv_path: Path, out_dir: Path, options: PrepareOptions | None = None) -> PrepareReport:
    """Prepare every usable row of the CSV into ``out_dir``; see the module docstring.

    Args:
        csv_path: the team's CSV.
        out_dir: output folder (created).
        options: lookup and output settings.

    Raises:
        PrepareError: the CSV is missing, unreadable or lacks a required column.
    """
    options = options or PrepareOptions()
    source = _read_csv(csv_path, options.encoding)
    filepaths = [normalise_path(str(v), options.strip_prefix) for v in source["filepath"]]
    context = _Context(
        base=(options.root or csv_path.parent).resolve(),
        options=options,
        stem_count=Counter(PurePosixPath(p).stem for p in set(filepaths) if p),
        team_folds=_read_team_folds(options, csv_path.parent) if options.folds_from else None,
    )
    for folder in ("images", "masks"):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)

    report = PrepareReport(total_rows=len(source), dataset=pd.DataFrame(), rejections=[])
    prepared: list[_Prepared] = []
    first_line_of: dict[str, int] = {}
    rows = tqdm(source.iterrows(), total=len(source), desc="prepare", file=sys.stderr, disable=None)
    for position, (_, record) in enumerate(rows):
        line = position + 2  # the header is line 1, as a spreadsheet numbers it
        outcome = _convert_row(record, filepaths[position], context, first_line_of, line)
        if isinstance(outcome, str):
            report.rejections.append(Rejection(line, str(record["filepath"]), outcome))
            continue
        row, image_png, mask_png = outcome
        _count(report, _write_if_changed(out_dir / row.image, image_png))
        if mask_png is not None:
            _count(report, _write_if_changed(out_dir / row.mask, mask_png))
        prepared.append(row)

    report.dataset = _dataset_table(source, prepared, options, context.team_folds)
    _write_tables(report, out_dir, options.n_folds)
    report.notes = _notes(prepared, out_dir, report.dataset)
    return report


def _convert_row(
    record: pd.Series, filepath: str, context: _Context, first_line_of: dict[str, int], line: int
) -> tuple[_Prepared, bytes, bytes | None] | str:
    """Check and convert one row: (row, image PNG, mask PNG or None), or the reason it is rejected."""
    options = context.options
    if not filepath:
        return "The filepath is empty."
    rds, exist_json = parse_label(record["rds"]), parse_flag(record["exist_json"])
    if rds is None:
        return f"The rds label must be 0 or 1 (found '{record['rds']}'); accepted: 1/0, 1.0/0.0, true/false, RDS/non-RDS."
    if exist_json is None:
        return f"exist_json must be 0 or 1 (found '{record['exist_json']}')."
    key = output_id(filepath)
    if context.team_folds is not None and filepath not in context.team_folds:
        return f"The filepath is in none of the fold tables {options.folds_from}."
    if key in first_line_of:
        return f"The same filepath as row {first_line_of[key]}; each image may appear once."
    first_line_of[key] = line
    image_path = _resolve(filepath, context.base)
    if not image_path.is_file():
        hint = " (a Windows path: use --strip-prefix)" if _WINDOWS_DRIVE.match(filepath) else ""
        return f"Image file not found: {image_path}{hint}."

    annotation = json_name = None
    if exist_json:
        json_path, problem = _locate_json(filepath, image_path, options.json_dir, context.stem_count)
        if json_path is None:
            return problem
        json_name = json_path.name
        try:
            annotation = read_lung_annotation(json_path, options.lung_label)
        except AnnotationError as err:
            return str(err)

    try:
        radiograph = load_radiograph(image_path)
    except RdsError as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - one odd file must not stop a batch of thousands
        return f"{image_path.name} could not be read ({type(err).__name__}: {err})."
    height, width = radiograph.pixels.shape

    mask = None
    scaled = False
    if annotation is not None:
        try:
            mask = rasterise(annotation, (height, width), radiograph.original_size)
        except AnnotationError as err:
            return f"{json_name}: {err}"
        scaled = (annotation.frame or radiograph.original_size) != (height, width)

    patient, patient_source = patient_of(record.get(options.patient_column), image_path, filepath)
    row = _Prepared(
        index=record.name,
        image=f"images/{key}.png",
        mask=f"masks/{key}.png" if mask is not None else "",
        roi_area=int(np.count_nonzero(mask)) if mask is not None else None,
        height=height,
        width=width,
        patient_id=patient,
        patient_source=patient_source,
        rds=rds,
        exist_json=exist_json,
        key=key,
        scaled=scaled,
    )
    return row, _encode_image(radiograph.pixels, options.bits), _encode_png(mask) if mask is not None else None


def _read_csv(csv_path: Path, encoding: str) -> pd.DataFrame:
    return _read_csv_columns(csv_path, encoding, REQUIRED_COLUMNS)


def _read_csv_columns(csv_path: Path, encoding: str, required: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV as text (UTF-8 or CP949) and check it has the ``required`` columns."""
    if not csv_path.is_file():
        raise PrepareError(f"The dataset CSV {csv_path} does not exist.")
    encodings = ["utf-8-sig", "cp949"] if encoding == "auto" else [encoding]
    for attempt in encodings:
        try:
            frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding=attempt)
            break
        except UnicodeDecodeError:
            continue
        except LookupError as err:
            raise PrepareError(f"{encoding!r} is not a text encoding Python knows; try utf-8 or cp949.") from err
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise PrepareError(f"{csv_path.name} is not a readable CSV ({err}).") from err
    else:
        raise PrepareError(f"{csv_path.name} is neither UTF-8 nor CP949 text; pass --encoding.")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise PrepareError(
            f"{csv_path.name} lacks the column(s) {', '.join(missing)}; expected "
            "filepath, rds, exist_json, roi_area, height, width."
        )
    return frame.reset_index(drop=True)


def _resolve(filepath: str, base: Path) -> Path:
    path = Path(filepath)
    return path if path.is_absolute() else base / path


def _read_team_folds(options: PrepareOptions, csv_folder: Path) -> dict[str, int]:
    """Map each filepath of the team's fold tables (normalised like the CSV's) to its fold."""
    if "{k}" not in options.folds_from:
        raise PrepareError(f"--folds-from needs '{{k}}' where the fold number goes (got '{options.folds_from}').")
    fold_of: dict[str, int] = {}
    for k in range(options.n_folds):
        name = Path(options.folds_from.replace("{k}", str(k)))
        path = name if name.is_absolute() or name.is_file() else csv_folder / name
        table = _read_csv_columns(path, options.encoding, ("filepath",))
        for raw in table["filepath"]:
            filepath = normalise_path(str(raw), options.strip_prefix)
            if filepath in fold_of and fold_of[filepath] != k:
                raise PrepareError(f"{filepath} is in fold tables {fold_of[filepath]} and {k}; a film belongs to one fold.")
            fold_of[filepath] = k
    return fold_of


def _locate_json(
    filepath: str, image_path: Path, json_dir: Path | None, stem_count: Counter[str]
) -> tuple[Path | None, str]:
    """Find the row's JSON; return (path, "") or (None, reason)."""
    relative = PurePosixPath(filepath)
    if json_dir is None:
        candidate = image_path.with_suffix(".json")
        return (candidate, "") if candidate.is_file() else (None, f"exist_json is 1 but {candidate} does not exist.")
    mirror = None if relative.is_absolute() or _WINDOWS_DRIVE.match(filepath) else json_dir / relative.with_suffix(".json")
    flat = json_dir / f"{relative.stem}.json"
    if mirror is not None and mirror.is_file():
        return mirror, ""
    if flat.is_file():
        if mirror != flat and stem_count[relative.stem] > 1:
            return None, (
                f"{flat} could belong to any of the {stem_count[relative.stem]} images named "
                f"'{relative.stem}'; put it at {mirror or flat} instead."
            )
        return flat, ""
    looked = f"{mirror} or {flat}" if mirror is not None and mirror != flat else str(flat)
    return None, f"exist_json is 1 but no JSON was found (looked for {looked})."


def _encode_image(pixels: np.ndarray, bits: int) -> bytes:
    top = 65535 if bits == 16 else 255
    dtype = np.uint16 if bits == 16 else np.uint8
    return _encode_png(np.round(np.clip(pixels, 0.0, 1.0) * top).astype(dtype))


def _encode_png(array: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", array, _PNG_PARAMS)
    if not ok:  # pragma: no cover - OpenCV encodes any 2-D uint8/uint16 array
        raise RuntimeError("OpenCV failed to encode a PNG.")
    return buffer.tobytes()


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` unless the file already holds it; atomic, so a cut-off run leaves no half file."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return True


def _count(report: PrepareReport, written: bool) -> None:
    if written:
        report.written += 1
    else:
        report.unchanged += 1


def _dataset_table(
    source: pd.DataFrame, prepared: list[_Prepared], options: PrepareOptions, team_folds: dict[str, int] | None
) -> pd.DataFrame:
    """Original columns (rds, exist_json, roi_area, height, width recomputed) + image, mask, patient_id, fold."""
    if team_folds is not None:
        filepaths = [normalise_path(str(source.loc[p.index, "filepath"]), options.strip_prefix) for p in prepared]
        folds = [team_folds[f] for f in filepaths]
    else:
        folds = assign_folds(
            [p.rds for p in prepared],
            [p.roi_area for p in prepared],
            [p.patient_id for p in prepared],
            [p.key for p in prepared],
            options.n_folds,
        )
    table = source.loc[[p.index for p in prepared]].copy()
    table = table.astype(object)
    table["rds"] = [p.rds for p in prepared]
    table["exist_json"] = [p.exist_json for p in prepared]
    # Nullable integers: an empty cell (not NaN, not 123.0) for a film without a mask.
    table["roi_area"] = pd.array([p.roi_area for p in prepared], dtype="Int64")
    table["height"] = [p.height for p in prepared]
    table["width"] = [p.width for p in prepared]
    table["image"] = [p.image for p in prepared]
    table["mask"] = [p.mask for p in prepared]
    table["patient_id"] = [p.patient_id for p in prepared]
    table["fold"] = folds
    return table.reset_index(drop=True)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _write_tables(report: PrepareReport, out_dir: Path, n_folds: int) -> None:
    dataset = report.dataset
    _count(report, _write_if_changed(out_dir / "dataset.csv", _csv_bytes(dataset)))
    for fold in range(n_folds):
        rows = dataset[dataset["fold"] == fold] if len(dataset) else dataset
        _count(report, _write_if_changed(out_dir / f"dataset_fold_{fold}_{n_folds}.csv", _csv_bytes(rows)))
    rejected = pd.DataFrame([vars(r) for r in report.rejections], columns=["row", "filepath", "reason"])
    _count(report, _write_if_changed(out_dir / "rejected.csv", _csv_bytes(rejected)))


def _notes(prepared: list[_Prepared], out_dir: Path, dataset: pd.DataFrame) -> list[str]:
    """Things the person running the tool should know, beyond the rejections."""
    sources = Counter(p.patient_source for p in prepared)
    notes = [
        "Patient ids from: " + ", ".join(f"{name} {sources[name]}" for name in ("column", "dicom", "file name") if sources[name])
        + " (column: the patient column; dicom: PatientID / OtherPatientIDs; file name: the file stem)."
    ] if prepared else []
    if len(dataset) and dataset["rds"].nunique() == 1:
        notes.append(f"WARNING: every prepared film has rds = {dataset['rds'].iloc[0]}; training needs both classes "
                     "(check the rds column).")
    if len(dataset):
        split = dataset.groupby("patient_id")["fold"].nunique()
        split = sorted(split[split > 1].index)
        if split:  # only possible with --folds-from: our own deal keeps patients together
            notes.append(
                f"WARNING: {len(split)} patient(s) have films in more than one of the given folds (e.g. '{split[0]}'); "
                "their films leak between training and held-out data. Fix the fold tables."
            )
    films_of = Counter(p.patient_id for p in prepared if p.patient_source == "file name")
    shared_stems = sorted(stem for stem, films in films_of.items() if films > 1)
    if shared_stems:
        notes.append(
            f"{len(shared_stems)} patient id(s) taken from file stems are shared by files in different folders "
            f"(e.g. '{shared_stems[0]}') and kept in one fold; add a patient_id column if they are different patients."
        )
    scaled = sum(p.scaled for p in prepared)
    if scaled:
        notes.append(f"{scaled} mask(s) were scaled from the image size stated in the JSON to the film's size.")
    referenced = {name for p in prepared for name in (p.image, p.mask) if name}
    stale = sorted(
        f"{folder}/{path.name}"
        for folder in ("images", "masks")
        for path in (out_dir / folder).glob("*.png")
        if f"{folder}/{path.name}" not in referenced
    )
    if stale:
        notes.append(
            f"{len(stale)} PNG file(s) in {out_dir} are not in this dataset (from an earlier run?), e.g. {stale[0]}; "
            "dataset.csv does not list them."
        )
    return notes


def _print_report(report: PrepareReport, out_dir: Path, n_folds: int) -> None:
    if report.rejections:
        print(f"\nRejected rows ({len(report.rejections)}), also in {out_dir / 'rejected.csv'}:")
        width = min(60, max(len("filepath"), *(len(r.filepath) for r in report.rejections)))
        print(f"{'row':>5}  {'filepath':<{width}}  reason")
        for r in report.rejections:
            print(f"{r.row:>5}  {r.filepath:<{width}}  {r.reason}")
    dataset = report.dataset
    if len(dataset):
        print(f"\n{'fold':>4}  {'non-RDS':>7}  {'RDS':>5}  {'masks':>5}  {'median lung area':>16}")
        for fold in range(n_folds):
            rows = dataset[dataset["fold"] == fold]
            areas = pd.to_numeric(rows["roi_area"], errors="coerce").dropna()
            median = f"{areas.median():.0f}" if len(areas) else "-"
            print(
                f"{fold:>4}  {int((rows['rds'] == 0).sum()):>7}  {int((rows['rds'] == 1).sum()):>5}  "
                f"{int((rows['mask'] != '').sum()):>5}  {median:>16}"
            )
    for note in report.notes:
        print(f"Note: {note}")
    with_mask = int((dataset["mask"] != "").sum()) if len(dataset) else 0
    print(
        f"\nPrepared {len(dataset)} of {report.total_rows} rows ({with_mask} with a lung mask, "
        f"{len(dataset) - with_mask} without); rejected {len(report.rejections)}. "
        f"Files: {report.written} written, {report.unchanged} unchanged. Output: {out_dir}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``prepare`` options to ``parser``.

    Args:
        parser: the (sub)command parser to extend.
    """
    parser.add_argument("csv", type=Path, help="the dataset CSV (filepath, rds, exist_json, roi_area, height, width)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--root", type=Path, default=None, help="folder the filepaths start from (default: the CSV's folder)")
    parser.add_argument("--json-dir", type=Path, default=None, help="folder of the JSON files (default: next to each image)")
    parser.add_argument("--strip-prefix", default="", help="remove this from the start of every filepath, e.g. C:/dataset/")
    parser.add_argument("--patient-column", default="patient_id", help="CSV column with patient ids (default: patient_id)")
    parser.add_argument("--lung-label", default=DEFAULT_LUNG_LABEL, help="regex for lung labels in LabelMe JSON")
    parser.add_argument("--bits", type=int, choices=(8, 16), default=8, help="bits per pixel of the output images (default: 8)")
    parser.add_argument("--folds", type=int, default=5, help="number of cross-validation folds (default: 5)")
    parser.add_argument("--encoding", default="auto", help="CSV encoding (default: UTF-8, else CP949)")
    parser.add_argument("--folds-from", default="", metavar="PATTERN",
                        help="keep the team's folds: fold tables named with {k}, e.g. 'dataset_fold_{k}_5.csv' "
                             "(relative to the working folder or the CSV's folder; default: deal new folds)")


def run(args: argparse.Namespace) -> int:
    """Run ``prepare`` with parsed arguments, print the report and return the exit status.

    Args:
        args: namespace from a parser set up by :func:`add_arguments`.

    Returns:
        0 when at least one row was prepared, 1 when none was, 2 when the CSV cannot be used.
    """
    options = PrepareOptions(
        root=args.root,
        json_dir=args.json_dir,
        strip_prefix=args.strip_prefix,
        patient_column=args.patient_column,
        lung_label=args.lung_label,
        bits=args.bits,
        n_folds=args.folds,
        encoding=args.encoding,
        folds_from=args.folds_from,
    )
    try:
        re.compile(options.lung_label)
        if options.n_folds < 2:
            raise PrepareError(f"--folds must be at least 2 (got {options.n_folds}).")
        report = prepare_dataset(args.csv, args.out, options)
    except re.error as err:
        print(f"error: --lung-label is not a valid regular expression ({err}).", file=sys.stderr)
        return 2
    except PrepareError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    _print_report(report, args.out, options.n_folds)
    return 0 if len(report.dataset) else 1


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m rds_core.train.prepare", description=__doc__)
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))

"""Import a case set: a folder of DICOM/PNG/JPEG films plus a truth CSV.

Nothing from the CSV is trusted. Each ``file`` entry must be a relative path that stays
inside the case folder (no absolute paths, no ``..``, no symbolic link leading out);
every film is decoded with ``rds_core.imaging.load_radiograph``; DICOM headers are
de-identified (:mod:`study.deid`) and PNG/JPEG films are re-encoded as PNG from their
decoded pixels (which drops every metadata chunk) *before* anything is written; the
result is stored under a generated name, so the original file name (which may hold a
patient name or the diagnosis) is kept nowhere. A row that fails is reported with a
reason and skipped; the rest imports.

AI hints are computed once here, with the ``hint_fn`` the caller passes
(:func:`study.hints.make_hint_fn` wraps the ``rds_core`` fold ensemble and Grad-CAM), so
readers never wait for a model.

CSV columns: ``file`` and ``truth`` (``1/0``, ``RDS/non-RDS``, ``yes/no``, ``true/false``),
optional ``severity``, ``gestational_age`` (weeks) and ``notes``. Other columns are
ignored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import secrets
import stat
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image
from sqlite_utils import Database

from rds_core.errors import RdsError
from rds_core.imaging import Radiograph, load_radiograph, sniff_format
from study import StudyError
from study.config import case_storage_dir
from study.db import resolve_storage_ref, storage_ref, to_iso, utc_now, write_transaction
from study.deid import DeidentificationError, UidMapper, burned_in_annotation, deidentify
from study.records import AiHint

__all__ = [
    "AiHint",
    "HintFn",
    "CaseImportError",
    "ImportedCase",
    "ImportReport",
    "CaseSetInfo",
    "CaseNumber",
    "parse_truth",
    "new_case_id",
    "reader_case_number",
    "import_case_set",
    "list_case_sets",
]

_TRUE = {"1", "1.0", "rds", "yes", "y", "true", "positive"}
_FALSE = {"0", "0.0", "non-rds", "nonrds", "non rds", "no rds", "no", "n", "false", "negative"}
_MAX_FILE_BYTES = 512 * 1024 * 1024
_COLUMN_ALIASES = (("file", "filepath"), ("truth", "rds"))
# Case ids are drawn at random below 2**53 (exact in JavaScript), so that no id seen in a
# page, key or URL follows the order of the truth CSV.
_CASE_ID_LIMIT = 2**53
_BURNED_IN_REFUSED = (
    "the DICOM header says identifying text is burned into the pixels (Burned In Annotation "
    "= YES); check the film and import with 'pixels checked' to accept it"
)
_BURNED_IN_UNKNOWN = (
    "a secondary-capture film without Burned In Annotation may carry identifying text in its "
    "pixels; check the film and import with 'pixels checked' to accept it"
)


class CaseImportError(StudyError):
    """The import as a whole cannot proceed (bad folder, bad CSV, nothing importable).

    Attributes:
        skipped: (file, reason) of rows that failed, when the failure is "nothing
            could be imported".
    """

    def __init__(self, message: str, skipped: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.skipped = tuple(skipped)


HintFn = Callable[[Radiograph], AiHint]


@dataclass(frozen=True)
class ImportedCase:
    """One imported row (admin-facing; keep this mapping outside the database if you
    need to trace cases back to their source).

    Attributes:
        case_id: database id.
        file: the ``file`` value of the CSV row.
        stored_path: where the de-identified copy lives.
    """

    case_id: int
    file: str
    stored_path: Path


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    Attributes:
        case_set_id: the new case set.
        name: its name.
        imported: the cases stored, in CSV order.
        skipped: (file, reason) of each row not imported.
        warnings: (file, note) of imported cases that need a look (e.g. burned-in text).
    """

    case_set_id: int
    name: str
    imported: tuple[ImportedCase, ...]
    skipped: tuple[tuple[str, str], ...]
    warnings: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CaseSetInfo:
    """A case set at a glance (admin-facing).

    Attributes:
        case_set_id: database id.
        name: unique name.
        status: ``importing`` or ``ready``.
        n_cases: cases stored.
        n_rds: cases with truth RDS.
        n_hints: cases with a precomputed AI hint.
        created_at: import time.
    """

    case_set_id: int
    name: str
    status: str
    n_cases: int
    n_rds: int
    n_hints: int
    created_at: str


class _Skip(Exception):
    """A row is skipped; the message is the reason shown to the admin."""


def parse_truth(value: str) -> int:
    """Read a truth label: 1 for RDS, 0 for non-RDS.

    Args:
        value: ``1/0``, ``RDS/non-RDS``, ``yes/no``, ``true/false`` (any case).

    Raises:
        ValueError: anything else.
    """
    text = " ".join(str(value).strip().lower().replace("_", " ").split())
    if text in _TRUE:
        return 1
    if text in _FALSE or text.replace(" ", "-") in _FALSE:
        return 0
    raise ValueError(f"truth {value!r} is not one of 1/0, RDS/non-RDS, yes/no")


def _safe_path(folder: Path, ref: str) -> Path:
    """Resolve a CSV path inside ``folder`` (already resolved), or raise _Skip."""
    text = ref.strip()
    if not text:
        raise _Skip("the row has no file name")
    if "\x00" in text:
        raise _Skip("the file name contains a NUL character")
    norm = text.replace("\\", "/")  # CSVs written on Windows
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise _Skip("absolute paths are not allowed; give the path relative to the case folder")
    parts = PurePosixPath(norm).parts
    if ".." in parts:
        raise _Skip("'..' is not allowed in a file path; give the path inside the case folder")
    resolved = folder.joinpath(*parts).resolve()
    if not resolved.is_relative_to(folder):
        raise _Skip("the path leads outside the case folder (through a symbolic link)")
    try:
        info = resolved.stat()
    except OSError:
        raise _Skip("no such file in the case folder") from None
    if not stat.S_ISREG(info.st_mode):
        raise _Skip("not a regular file (devices, pipes and folders are refused)")
    if info.st_nlink > 1:
        # A hard link can point at any file of the same file system, out of the folder.
        raise _Skip("the file has more than one hard link; copy it into the case folder instead")
    return resolved


def _png_bytes(radiograph: Radiograph) -> bytes:
    """Encode decoded pixels as a fresh PNG: no EXIF, no text chunks, nothing but pixels."""
    pixels = np.clip(radiograph.pixels, 0.0, 1.0)
    if (radiograph.bits_stored or 8) <= 8:
        image = Image.fromarray(np.rint(pixels * 255).astype(np.uint8), mode="L")
    else:
        image = Image.fromarray(np.rint(pixels * 65535).astype(np.uint16), mode="I;16")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _check_hint(hint: AiHint) -> None:
    # A malformed hint is a wiring bug of the caller, not a bad case: fail loudly.
    if not isinstance(hint, AiHint):
        raise TypeError(f"hint_fn must return an AiHint, not {type(hint).__name__}")
    if not isinstance(hint.positive, bool):
        raise ValueError(f"AiHint.positive must be True or False, not {hint.positive!r}")
    values = (hint.probability, hint.threshold, *hint.fold_probabilities)
    if not all(0.0 <= float(v) <= 1.0 for v in values) or hint.spread < 0:
        raise ValueError(f"AiHint values out of range: {hint}")


def _read_csv(truth_csv: Path) -> list[dict[str, str]]:
    try:
        text = truth_csv.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise CaseImportError(f"The truth CSV {truth_csv.name} cannot be read as UTF-8 text ({err}).") from err
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise CaseImportError(f"The truth CSV {truth_csv.name} is empty.")
    columns = [str(name).strip().lower() for name in reader.fieldnames]
    # The team's own tables say filepath / rds (docs/DATASET.md); they mean file / truth.
    aliases = {alias: name for name, alias in _COLUMN_ALIASES if name not in columns and alias in columns}
    columns = [aliases.get(name, name) for name in columns]
    missing = [name for name in ("file", "truth") if name not in columns]
    if missing:
        raise CaseImportError(
            f"The truth CSV {truth_csv.name} needs the columns 'file' and 'truth'; "
            f"missing: {', '.join(missing)} (found: {', '.join(columns)})."
        )
    rows = []
    for raw in reader:
        row = {}
        for key, value in raw.items():
            if key is not None and isinstance(value, str):
                name = str(key).strip().lower()
                row[aliases.get(name, name)] = value.strip()
        rows.append(row)
    return rows


@dataclass
class _Prepared:
    file: str
    stored: bytes
    extension: str
    file_format: str
    radiograph: Radiograph
    source_sha256: str
    hint: AiHint | None
    truth: int
    severity: str | None
    gestational_age: float | None
    notes: str | None


def _prepare(row: dict[str, str], folder: Path, uids: UidMapper, hint_fn: HintFn | None,
             warnings: list[tuple[str, str]], accept_burned_in: bool) -> _Prepared:
    ref = row.get("file", "")
    try:
        truth = parse_truth(row.get("truth", ""))
    except ValueError as err:
        raise _Skip(str(err)) from err
    age_text = row.get("gestational_age", "")
    try:
        gestational_age = float(age_text) if age_text else None
    except ValueError as err:
        raise _Skip(f"gestational_age {age_text!r} is not a number of weeks") from err
    path = _safe_path(folder, ref)
    if path.stat().st_size > _MAX_FILE_BYTES:
        raise _Skip(f"the file is larger than {_MAX_FILE_BYTES // 2**20} MB")
    data = path.read_bytes()
    name = PurePosixPath(ref.replace("\\", "/")).name
    stored, extension, file_format, radiograph = _decode(ref, name, data, uids, warnings,
                                                         accept_burned_in)
    try:
        hint = hint_fn(radiograph) if hint_fn is not None else None
    except RdsError as err:
        raise _Skip(str(err)) from err
    if hint is not None:
        _check_hint(hint)
    return _Prepared(
        file=ref, stored=stored, extension=extension, file_format=file_format,
        radiograph=radiograph, source_sha256=hashlib.sha256(data).hexdigest(), hint=hint,
        truth=truth, severity=row.get("severity") or None, gestational_age=gestational_age,
        notes=row.get("notes") or None,
    )


def _decode(ref: str, name: str, data: bytes, uids: UidMapper, warnings: list[tuple[str, str]],
            accept_burned_in: bool) -> tuple[bytes, str, str, Radiograph]:
    """De-identify and decode one file; any failure of this one file becomes a _Skip."""
    try:
        if sniff_format(data) == "dicom":
            try:
                stored = deidentify(data, uids)
            except DeidentificationError as err:
                raise _Skip(str(err)) from err
            burned = burned_in_annotation(stored)
            if burned is not False:
                reason = _BURNED_IN_REFUSED if burned else _BURNED_IN_UNKNOWN
                if not accept_burned_in:
                    raise _Skip(reason)
                warnings.append((ref, "accepted after the admin confirmed the pixels were checked: "
                                 + reason.split(";")[0]))
            radiograph = load_radiograph(stored, name=name)
            extension, file_format = ".dcm", "dicom"
        else:
            radiograph = load_radiograph(data, name=name)
            stored, extension, file_format = _png_bytes(radiograph), ".png", "png"
    except _Skip:
        raise
    except RdsError as err:
        raise _Skip(str(err)) from err
    except (RecursionError, MemoryError):
        raise _Skip("the file is nested too deeply or too large to be read safely") from None
    except Exception as err:  # noqa: BLE001 - one bad file must never abort a whole import
        raise _Skip(f"the file could not be read ({type(err).__name__})") from err
    return stored, extension, file_format, radiograph


def new_case_id(conn) -> int:
    """A fresh random case id, unused in ``cases`` (call inside the inserting transaction).

    Args:
        conn: a connection holding the write lock.
    """
    while True:
        candidate = 1 + secrets.randbelow(_CASE_ID_LIMIT - 1)
        if conn.execute("SELECT 1 FROM cases WHERE id = ?", (candidate,)).fetchone() is None:
            return candidate


def _store(db: Database, storage: Path, case_set_id: int, position: int, item: _Prepared,
           now: datetime) -> ImportedCase:
    target = storage / f"{uuid.uuid4().hex}{item.extension}"
    partial = target.with_suffix(".part")
    # 0600 from the start: the film must never be readable by other local users.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(item.stored)
    os.replace(partial, target)  # never a half-written file under a final name
    created = to_iso(now)
    with write_transaction(db) as conn:
        case_id = new_case_id(conn)
        conn.execute(
            "INSERT INTO cases (id, case_set_id, position, stored_path, file_format, width, height, "
            "truth, severity, gestational_age, notes, source_sha256, stored_sha256, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (case_id, case_set_id, position, storage_ref(db, target), item.file_format,
             item.radiograph.width, item.radiograph.height, item.truth, item.severity,
             item.gestational_age, item.notes, item.source_sha256,
             hashlib.sha256(item.stored).hexdigest(), created),
        )
        if item.hint is not None:
            hint = item.hint
            conn.execute(
                "INSERT INTO ai_hints (case_id, probability, fold_probabilities, spread, threshold, "
                "positive, heatmap_png, pack_name, pack_version, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (case_id, float(hint.probability),
                 json.dumps([float(p) for p in hint.fold_probabilities]), float(hint.spread),
                 float(hint.threshold), int(hint.positive), hint.heatmap_png, hint.pack_name,
                 hint.pack_version, created),
            )
    return ImportedCase(case_id=case_id, file=item.file, stored_path=target)


def import_case_set(
    db: Database,
    folder: str | Path,
    truth_csv: str | Path,
    *,
    name: str | None = None,
    storage_dir: str | Path | None = None,
    hint_fn: HintFn | None = None,
    accept_burned_in: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    """Import a folder of films with their truth as a new case set.

    Args:
        db: the study database.
        folder: the case folder; every CSV path is resolved inside it.
        truth_csv: CSV with ``file, truth`` (+ optional ``severity, gestational_age,
            notes``).
        name: unique case-set name; defaults to the folder's name.
        storage_dir: where de-identified copies go; default
            :func:`study.config.case_storage_dir` (``$RDS_STUDY_CASES`` or ``data/cases``).
        hint_fn: computes the AI hint of a decoded film; None stores no hints (only
            unaided studies are then possible). An ``RdsError`` it raises skips the
            row; any other exception is a bug and propagates after the half-imported
            case set is removed (so the same name can be imported again).
        accept_burned_in: import DICOM films whose header says text is burned into the
            pixels (or, for secondary capture, does not say): only after a person has
            checked those pixels. By default such films are skipped with the reason.
        now: the current time (tests inject it).

    Returns:
        The report: imported cases, skipped rows with reasons, warnings.

    Raises:
        CaseImportError: the folder or CSV is unusable, the name is taken, or no row
            could be imported (``err.skipped`` lists why).
    """
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise CaseImportError(f"The case folder {folder} does not exist or is not a folder.")
    rows = _read_csv(Path(truth_csv))
    name = (name or folder.name).strip()
    storage = case_storage_dir(storage_dir).resolve()
    storage.mkdir(mode=0o700, parents=True, exist_ok=True)  # new folders: owner only
    now = now or utc_now()
    with write_transaction(db) as conn:
        existing = conn.execute("SELECT id, status FROM case_sets WHERE name = ?", (name,)).fetchone()
        if existing is not None and existing[1] == "ready":
            raise CaseImportError(f"A case set named {name!r} already exists; choose another name.")
        if existing is not None:  # an import that died half-way: retrying replaces it
            _remove_case_set(conn, db, existing[0])
        case_set_id = conn.execute(
            "INSERT INTO case_sets (name, storage_dir, status, created_at) VALUES (?, ?, 'importing', ?)",
            (name, str(storage), to_iso(now)),
        ).lastrowid

    uids = UidMapper()  # one mapper per import: UIDs stay consistent across its files
    imported: list[ImportedCase] = []
    skipped: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    try:
        _import_rows(db, rows, folder, storage, case_set_id, uids, hint_fn, accept_burned_in, now,
                     imported, skipped, warnings)
    except BaseException:
        with write_transaction(db) as conn:
            _remove_case_set(conn, db, case_set_id)
        raise
    with write_transaction(db) as conn:
        if not imported:
            conn.execute("DELETE FROM case_sets WHERE id = ?", (case_set_id,))
        else:
            conn.execute("UPDATE case_sets SET status = 'ready' WHERE id = ?", (case_set_id,))
    if not imported:
        detail = "; ".join(f"{file}: {reason}" for file, reason in skipped[:5])
        raise CaseImportError(f"No case could be imported from {Path(truth_csv).name}. {detail}", skipped)
    return ImportReport(case_set_id=case_set_id, name=name, imported=tuple(imported),
                        skipped=tuple(skipped), warnings=tuple(warnings))


def _remove_case_set(conn, db: Database, case_set_id: int) -> None:
    """Delete an unfinished case set, its hints and its stored files (no study uses it)."""
    refs = [r[0] for r in conn.execute("SELECT stored_path FROM cases WHERE case_set_id = ?", (case_set_id,))]
    conn.execute("DELETE FROM ai_hints WHERE case_id IN (SELECT id FROM cases WHERE case_set_id = ?)",
                 (case_set_id,))
    conn.execute("DELETE FROM cases WHERE case_set_id = ?", (case_set_id,))
    conn.execute("DELETE FROM case_sets WHERE id = ?", (case_set_id,))
    for ref in refs:
        resolve_storage_ref(db, ref).unlink(missing_ok=True)


def _import_rows(db: Database, rows: list[dict[str, str]], folder: Path, storage: Path,
                 case_set_id: int, uids: UidMapper, hint_fn: HintFn | None, accept_burned_in: bool,
                 now: datetime, imported: list[ImportedCase], skipped: list[tuple[str, str]],
                 warnings: list[tuple[str, str]]) -> None:
    seen_files: dict[str, int] = {}
    seen_content: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        ref = row.get("file", "")
        label = ref or f"row {line}"
        try:
            key = ref.strip().replace("\\", "/")
            if key in seen_files:
                raise _Skip(f"listed twice (first on line {seen_files[key]})")
            seen_files[key] = line
            item = _prepare(row, folder, uids, hint_fn, warnings, accept_burned_in)
            if item.source_sha256 in seen_content:
                raise _Skip(f"the same image as {seen_content[item.source_sha256]!r}")
            seen_content[item.source_sha256] = ref
        except _Skip as reason:
            skipped.append((label, str(reason)))
            continue
        imported.append(_store(db, storage, case_set_id, len(imported), item, now))


def list_case_sets(db: Database) -> list[CaseSetInfo]:
    """All case sets with their counts, oldest first (admin-facing).

    Args:
        db: the study database.
    """
    rows = db.conn.execute(
        "SELECT s.id, s.name, s.status, COUNT(c.id), COALESCE(SUM(c.truth), 0), COUNT(h.case_id), "
        "s.created_at FROM case_sets s LEFT JOIN cases c ON c.case_set_id = s.id "
        "LEFT JOIN ai_hints h ON h.case_id = c.id GROUP BY s.id ORDER BY s.id"
    ).fetchall()
    return [CaseSetInfo(*row) for row in rows]


@dataclass(frozen=True)
class CaseNumber:
    """What a reader may be told about where a case sits in their own list.

    Attributes:
        number: 1-based rank of the case among the distinct cases of the reader's plan,
            in reading order (the same case read in two arms keeps its number).
        total: distinct cases in the reader's plan.
    """

    number: int
    total: int


def reader_case_number(db: Database, study_id: int, reader_id: int, case_id: int, *,
                       session: int | None = None) -> CaseNumber:
    """The per-reader sequence number of a case ("Case 3 of 33"), never its database id.

    The number depends only on the reader's own shuffled plan, so it says nothing about
    import order or truth. A case read in several arms keeps one number.

    Args:
        db: the study database.
        study_id: the study.
        reader_id: the reader.
        case_id: a case in the reader's plan.
        session: count within this session only (pass ``Task.session``: in a crossover
            study every case comes back in session 2, numbered 1..n again); None counts
            over the whole plan.

    Raises:
        ValueError: the case is not in this reader's plan (or session).
    """
    rows = db.conn.execute(
        "SELECT case_id FROM plan WHERE study_id = ? AND reader_id = ? AND (? IS NULL OR session = ?) "
        "GROUP BY case_id ORDER BY MIN(position)",
        (study_id, reader_id, session, session),
    ).fetchall()
    order = [row[0] for row in rows]
    if case_id not in order:
        raise ValueError(f"Case {case_id} is not in the reading list of reader {reader_id}.")
    return CaseNumber(number=order.index(case_id) + 1, total=len(order))

"""Weight packs: a folder with ``manifest.json`` and safetensors tensor files.

A pack is everything needed to run a model honestly: the architecture, the
preprocessing (input size, normalisation, lung masking), the decision threshold, what it
was trained on, its metrics and a sha256 per tensor file. Loading verifies all of it, so a
corrupt or mismatched pack fails with a clear :class:`~rds_core.errors.WeightPackError`
instead of producing silent nonsense. Preprocessing is read from here, never hard-coded in
callers (timm's habit: the config travels with the weights).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rds_core.errors import WeightPackError

__all__ = [
    "FORMAT_VERSION",
    "Preprocessing",
    "PostProcessing",
    "Architecture",
    "Manifest",
    "default_weights_dir",
    "default_pack_name",
    "list_packs",
    "resolve_pack_dir",
    "read_manifest",
    "write_manifest",
    "sha256_file",
    "verify_files",
    "open_pack",
]

FORMAT_VERSION = 1
TASKS = ("segmentation", "classification")


@dataclass(frozen=True)
class Preprocessing:
    """How a film becomes the model's input tensor.

    Attributes:
        size: square input side in pixels; the film is letterboxed (padded to a square
            with zeros, aspect kept) then resized to ``size`` x ``size``.
        mean, std: normalisation applied to the [0, 1] grey image.
        lung_masked: classification only - multiply by the lung mask and crop to the
            lungs' bounding box before letterboxing (the source paper: 0.746 -> 0.785).
        crop_margin: margin around the lung box, as a fraction of the box size.
    """

    size: int
    mean: float = 0.5
    std: float = 0.25
    lung_masked: bool = False
    crop_margin: float = 0.05

    def normalise(self, images: Any) -> Any:
        """``(x - mean) / std`` for a numpy array or torch tensor of [0, 1] films."""
        return (images - self.mean) / self.std

    def denormalise(self, images: Any) -> Any:
        """The inverse of :meth:`normalise` (back to [0, 1])."""
        return images * self.std + self.mean

    def to_tensor(self, square: Any) -> Any:
        """A (size, size) [0, 1] numpy square -> the normalised (1, 1, size, size) model input."""
        import torch

        return torch.from_numpy(self.normalise(square))[None, None]


@dataclass(frozen=True)
class PostProcessing:
    """Segmentation post-processing, chosen on validation and stored in the pack manifest."""

    threshold: float = 0.5
    median: int = 5  # median filter kernel in model pixels (odd; 0/1 = off)
    keep_components: int = 2
    min_component_fraction: float = 0.15  # of the largest component, to count as a lung
    fill_holes: bool = True
    tta_rotations: tuple[int, ...] = (0,)
    min_area_fraction: float = 0.04  # lungs found only if the mask covers this much ...
    max_area_fraction: float = 0.75  # ... and no more than this of the film
    min_confidence: float = 0.75  # mean probability inside the mask

    @classmethod
    def from_dict(cls, options: dict[str, Any], pack_name: str) -> "PostProcessing":
        """Parse the manifest's ``postprocessing`` object; an unknown key is a broken pack."""
        options = dict(options)
        if "tta_rotations" in options:
            options["tta_rotations"] = tuple(int(r) for r in options["tta_rotations"])
        try:
            return cls(**options)
        except TypeError as exc:
            raise WeightPackError(f"Pack '{pack_name}' has unknown post-processing options ({exc}).") from exc


@dataclass(frozen=True)
class Architecture:
    """Which network to build.

    Attributes:
        library: ``"timm"`` (classifier) or ``"smp"`` (segmentation).
        name: timm model name, or smp architecture name (e.g. ``"Unet"``).
        encoder: smp encoder name (e.g. ``"tu-mobilenetv3_large_100"``); None for timm.
        kwargs: extra constructor arguments (e.g. ``decoder_channels``).
    """

    library: str
    name: str
    encoder: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """The parsed ``manifest.json`` of a pack. See ``weights/README.md`` for each field."""

    name: str
    version: str
    task: str
    class_names: tuple[str, ...]
    architecture: Architecture
    preprocessing: Preprocessing
    files: dict[str, str]  # tensor file name -> sha256
    threshold: float = 0.5
    threshold_rule: str = ""
    training_data: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    postprocessing: PostProcessing | None = None  # segmentation packs only
    notice: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def positive_class(self) -> str:
        """The class whose probability the models output (the last class name)."""
        return self.class_names[-1]

    @property
    def tensor_files(self) -> list[str]:
        return sorted(self.files)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["class_names"] = list(self.class_names)
        return data


# The packs the app, the CLI and the study use unless told otherwise; a team with its own
# packs points these variables at them instead of renaming folders.
_DEFAULT_PACKS = {"classification": ("RDS_DEFAULT_PACK", "rds-demo"), "segmentation": ("RDS_SEG_PACK", "lung-seg")}


def default_pack_name(task: str) -> str:
    """``$RDS_DEFAULT_PACK`` / ``$RDS_SEG_PACK`` if set, else ``rds-demo`` / ``lung-seg``.

    Args:
        task: ``"classification"`` or ``"segmentation"``.
    """
    variable, fallback = _DEFAULT_PACKS[task]
    return os.environ.get(variable, "").strip() or fallback


def default_weights_dir() -> Path:
    """``$RDS_WEIGHTS_DIR`` if set, else the repository's ``weights/`` folder."""
    env = os.environ.get("RDS_WEIGHTS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "weights"


def resolve_pack_dir(pack: str | os.PathLike[str]) -> Path:
    """Turn a pack name (``"rds-demo"``) or a folder path into the pack's folder."""
    candidate = Path(pack)
    if candidate.is_dir():
        return candidate
    named = default_weights_dir() / str(pack)
    if named.is_dir():
        return named
    raise WeightPackError(
        f"Weight pack '{pack}' was not found (looked in {default_weights_dir()}); "
        "check the name or train a pack with `python -m rds_core.train`."
    )


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise WeightPackError(f"The manifest of pack '{where}' has no '{key}' field; the pack is incomplete.")
    return data[key]


def read_manifest(pack_dir: Path) -> Manifest:
    """Parse and validate ``manifest.json`` (structure only; see :func:`verify_files`)."""
    path = pack_dir / "manifest.json"
    label = pack_dir.name
    if not path.is_file():
        raise WeightPackError(f"Weight pack '{label}' has no manifest.json; it is not a weight pack.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightPackError(f"The manifest of pack '{label}' is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise WeightPackError(f"The manifest of pack '{label}' must be a JSON object.")
    version = data.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise WeightPackError(
            f"Pack '{label}' uses manifest format {version}, this code reads format {FORMAT_VERSION}."
        )
    task = _require(data, "task", label)
    if task not in TASKS:
        raise WeightPackError(f"Pack '{label}' has task '{task}'; expected one of {', '.join(TASKS)}.")
    files = _require(data, "files", label)
    if not isinstance(files, dict) or not files:
        raise WeightPackError(f"Pack '{label}' lists no tensor files.")
    try:
        manifest = Manifest(
            name=str(_require(data, "name", label)),
            version=str(_require(data, "version", label)),
            task=task,
            class_names=tuple(_require(data, "class_names", label)),
            architecture=Architecture(**_require(data, "architecture", label)),
            preprocessing=Preprocessing(**_require(data, "preprocessing", label)),
            files={str(k): str(v) for k, v in files.items()},
            threshold=float(data.get("threshold", 0.5)),
            threshold_rule=str(data.get("threshold_rule", "")),
            training_data=str(data.get("training_data", "")),
            metrics=dict(data.get("metrics", {})),
            postprocessing=PostProcessing.from_dict(data.get("postprocessing") or {}, label)
            if task == "segmentation" else None,
            notice=str(data.get("notice", "")),
            extra=dict(data.get("extra", {})),
        )
    except TypeError as exc:
        raise WeightPackError(f"The manifest of pack '{label}' has an unexpected field: {exc}.") from exc
    if not 0.0 < manifest.threshold < 1.0:
        raise WeightPackError(f"Pack '{label}' has threshold {manifest.threshold}; it must lie strictly between 0 and 1.")
    if len(manifest.class_names) < 2:
        raise WeightPackError(f"Pack '{label}' must name at least two classes.")
    return manifest


def write_manifest(pack_dir: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` (pretty, stable key order) and return its path."""
    pack_dir.mkdir(parents=True, exist_ok=True)
    path = pack_dir / "manifest.json"
    path.write_text(json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def verify_files(pack_dir: Path, manifest: Manifest) -> None:
    """Check that every tensor file exists and matches its sha256."""
    for name, expected in manifest.files.items():
        if Path(name).name != name:
            raise WeightPackError(f"Pack '{manifest.name}' names a file outside its folder: '{name}'.")
        path = pack_dir / name
        if not path.is_file():
            raise WeightPackError(f"Pack '{manifest.name}' is missing its tensor file '{name}'.")
        actual = sha256_file(path)
        if actual != expected:
            raise WeightPackError(
                f"Tensor file '{name}' of pack '{manifest.name}' is corrupt or was replaced "
                f"(sha256 {actual[:12]}... does not match the manifest's {expected[:12]}...)."
            )


def open_pack(pack: str | os.PathLike[str], task: str) -> tuple[Path, Manifest]:
    """Resolve, parse and verify a pack of the given task; the one way packs are opened."""
    pack_dir = resolve_pack_dir(pack)
    manifest = read_manifest(pack_dir)
    if manifest.task != task:
        raise WeightPackError(f"Pack '{manifest.name}' is a {manifest.task} pack, not a {task} pack.")
    verify_files(pack_dir, manifest)
    return pack_dir, manifest


def list_packs(task: str, weights_dir: Path | None = None) -> list[tuple[str, Manifest]]:
    """Installed packs of one task as (folder name, manifest), the default pack first.

    A folder whose manifest does not parse is left out (and logged): a pack switcher must
    not break because one pack is half-copied.

    Args:
        task: ``"classification"`` or ``"segmentation"``.
        weights_dir: folder holding ``<pack>/manifest.json``; :func:`default_weights_dir` when None.
    """
    import logging

    root = weights_dir or default_weights_dir()
    found: list[tuple[str, Manifest]] = []
    for manifest_path in sorted(root.glob("*/manifest.json")):
        try:
            manifest = read_manifest(manifest_path.parent)
        except WeightPackError as exc:
            logging.getLogger(__name__).warning("skipping pack %s: %s", manifest_path.parent.name, exc)
            continue
        if manifest.task == task:
            found.append((manifest_path.parent.name, manifest))
    default = default_pack_name(task)
    found.sort(key=lambda item: (item[0] != default, item[0]))
    return found

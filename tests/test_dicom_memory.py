"""Decompression bombs (issue 14 item 5): a 7000 x 7000 film adds at most 400 MB at peak when loaded.

Each bomb is loaded in a fresh subprocess that first imports the stack and loads a small film, so the
measured peak (ru_maxrss) is what this one film adds over an idle, warmed-up loader.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, RLELossless, generate_uid

from rds_core.imaging.common import WORKING_MAX_SIDE

REPO = Path(__file__).resolve().parents[1]
SIDE = 7000
BUDGET_MB = 400

_MEASURE = """
import resource, sys
import cv2, numpy, pydicom  # noqa: F401 - part of the idle loader
from rds_core.imaging import load_radiograph
load_radiograph(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
film = load_radiograph(sys.argv[1])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) / 1024, *film.pixels.shape, *film.original_size)
"""


def _zero_film() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = pydicom.uid.DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.set_pixel_data(np.zeros((SIDE, SIDE), np.uint16), "MONOCHROME2", 12)
    return ds


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three bombs of the audit: 95 KB PNG, 98 KB deflated DICOM, 1.5 MB RLE DICOM."""
    root = tmp_path_factory.mktemp("bombs")
    paths = {"png": root / "zeros.png", "deflated": root / "deflated.dcm", "rle": root / "rle.dcm"}
    Image.fromarray(np.zeros((SIDE, SIDE), np.uint16)).save(paths["png"], optimize=True)
    deflated = _zero_film()
    deflated.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    deflated.save_as(paths["deflated"], enforce_file_format=True)
    rle = _zero_film()
    rle.compress(RLELossless, encoding_plugin="gdcm")  # pydicom's own RLE encoder takes minutes at this size
    rle.save_as(paths["rle"], enforce_file_format=True)
    return paths


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["png", "deflated", "rle"])
def test_bomb_adds_at_most_400_mb(bombs: dict[str, Path], kind: str) -> None:
    assert bombs[kind].stat().st_size < 2_000_000  # a small upload...
    small = REPO / "tests" / "data" / "dicom" / "derived_RG1_MONO2_explicitLE_512.dcm"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(bombs[kind]), str(small)],
                          capture_output=True, text=True, env=env, timeout=170, check=True)
    added_mb, height, width, rows, columns = (float(v) for v in done.stdout.split())
    assert (rows, columns) == (SIDE, SIDE)  # ...that really declares 7000 x 7000
    assert max(height, width) <= WORKING_MAX_SIDE  # decoded to the bounded working size
    assert added_mb <= BUDGET_MB, f"{kind} bomb added {added_mb:.0f} MB at peak"


def test_deflate_bomb_is_refused_before_pydicom_inflates_it(tmp_path: Path) -> None:
    """A small image that hides 40 MB of zeros in a private element: refused by its inflated size."""
    from rds_core.errors import ImageTooLargeError
    from rds_core.imaging import load_radiograph

    ds = Dataset()
    ds.SOPClassUID = pydicom.uid.DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.set_pixel_data(np.zeros((100, 100), np.uint16), "MONOCHROME2", 12)
    ds.add_new(0x00091010, "LO", "RDS TEST")  # private creator
    ds.add_new(0x00091011, "OB", bytes(40 << 20))
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    path = tmp_path / "hidden.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert path.stat().st_size < 200_000
    with pytest.raises(ImageTooLargeError, match=r"^hidden\.dcm is a compressed DICOM file that expands to more"):
        load_radiograph(path, max_pixels=1_000_000)
    assert load_radiograph(path).original_size == (100, 100)  # within the default budget it is a normal film

"""PACS round trip (issue 12): a real Orthanc with its DICOMweb plugin on a loopback port.

The test uploads a film, runs ``python -m rds_core analyze --dicomweb URL --study UID --push``, and reads
the pushed SEG / SR / SC back from Orthanc. Skipped only where Orthanc is not installed (Debian packages
``orthanc`` and ``orthanc-dicomweb``; ``.ci/run`` installs them).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from rds_core.dicom_out import dicomweb, runner
from rds_core.dicom_out.dicomweb import Pacs, PacsError
from rds_core.pipeline import load_models
from tests.core_packs import make_packs
from tests.test_dicom_out import source_film

REPO = Path(__file__).resolve().parents[1]
PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")

pytestmark = pytest.mark.skipif(
    shutil.which("Orthanc") is None or not PLUGIN.exists(),
    reason="Orthanc with its DICOMweb plugin is not installed (Debian packages orthanc, orthanc-dicomweb)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away Orthanc: temporary storage, loopback only, no DICOM port; yields its HTTP root."""
    root = tmp_path_factory.mktemp("orthanc")
    port = _free_port()
    config = {
        "Name": "rds-test", "StorageDirectory": str(root / "db"), "IndexDirectory": str(root / "db"),
        "HttpPort": port, "DicomServerEnabled": False, "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False, "Plugins": [str(PLUGIN)], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (root / "config.json").write_text(json.dumps(config))
    log = (root / "orthanc.log").open("w")
    server = subprocess.Popen(["Orthanc", str(root / "config.json")], cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/system", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"Orthanc exited: {(root / 'orthanc.log').read_text()[-2000:]}")
                time.sleep(0.2)
        else:
            pytest.fail("Orthanc did not answer within 20 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _upload(url: str, data: bytes) -> None:
    request = urllib.request.Request(f"{url}/instances", data=data, method="POST",
                                     headers={"Content-Type": "application/dicom"})
    urllib.request.urlopen(request, timeout=30).read()


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_packs(tmp_path_factory.mktemp("weights"))


@pytest.mark.timeout(300)
def test_analyse_a_study_over_dicomweb_and_push_the_results(orthanc: str, packs: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    film = source_film()
    source = pydicom.dcmread(io.BytesIO(film))
    _upload(orthanc, film)
    cls_dir, seg_dir = packs
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "rds_core", "analyze", "--dicomweb", f"{orthanc}/dicom-web", "--study",
         str(source.StudyInstanceUID), "--push", "--out", str(out), "--pack", str(cls_dir), "--seg-pack",
         str(seg_dir), "--device", "cpu"],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "pushed 4 result objects" in done.stderr
    stem = str(source.SOPInstanceUID)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}{s}" for s in (".json", "_mask.png", "_cam.png", ".seg.dcm", ".heatmap.dcm", ".sr.dcm", ".sc.dcm"))

    # Read back from the PACS: the study now holds the film and its four results.
    from dicomweb_client.api import DICOMwebClient

    client = DICOMwebClient(f"{orthanc}/dicom-web")
    listed = client.search_for_instances(study_instance_uid=str(source.StudyInstanceUID), fields=["Modality"])
    modalities = sorted(item["00080060"]["Value"][0] for item in listed)
    assert modalities == ["CR", "OT", "SEG", "SEG", "SR"]
    sr_item = next(item for item in listed if item["00080060"]["Value"][0] == "SR")
    sr = client.retrieve_instance(str(source.StudyInstanceUID), sr_item["0020000E"]["Value"][0],
                                  sr_item["00080018"]["Value"][0])
    probability = json.loads((out / f"{stem}.json").read_text())["probability"]
    assert f"{probability:.4f}"[:5] in str(sr)  # the pushed report holds the local result

    # The second run finds only the film (earlier results are not films) and analyses it again.
    films = Pacs(f"{orthanc}/dicom-web").radiographs(str(source.StudyInstanceUID))
    assert [f.sop_uid for f in films] == [stem]


def test_failed_push_is_reported_and_local_outputs_stay(orthanc: str, packs: tuple[Path, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    film = source_film()
    source = pydicom.dcmread(io.BytesIO(film))
    _upload(orthanc, film)

    def refuse(self: Pacs, datasets: list) -> None:  # noqa: ARG001 - the PACS says no
        raise PacsError(f"the PACS at {self.url} could not store the results (HTTPError: 507 Insufficient Storage)")

    monkeypatch.setattr(dicomweb.Pacs, "store", refuse)
    cls_dir, seg_dir = packs
    models = load_models(str(cls_dir), str(seg_dir), "cpu")
    total, failed, pacs_failed = runner.run_dicomweb(f"{orthanc}/dicom-web", str(source.StudyInstanceUID), tmp_path,
                                                     models, push=True)
    assert (total, failed, pacs_failed) == (1, 0, True)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("error: the PACS at") and line.endswith(f"the results are still in {tmp_path}.")
    assert len(list(tmp_path.glob("*.dcm"))) == 4


def test_unreachable_pacs_is_one_line(tmp_path: Path, packs: tuple[Path, Path],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    models = load_models(str(packs[0]), str(packs[1]), "cpu")
    url = f"http://127.0.0.1:{_free_port()}/dicom-web"
    assert runner.run_dicomweb(url, "1.2.3", tmp_path, models, push=False) == (0, 0, True)
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: the PACS at {url} could not list the study") and "\n" not in err

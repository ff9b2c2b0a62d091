"""The analysis API: upload and follow a run, re-run, results and flags, roles, query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.models import Flag, Measurement, ResultRevision
from analysis.services import measurement_create
from demo.synthetic import eis_spectrum_csv as spectrum_csv
from lims.models import HistoryEntry, StoredFile
from tests.shared_data import require_shared_data

pytestmark = pytest.mark.django_db


def post_spectrum(
    client: Any, subject: str, content: bytes, name: str = "s.csv", conditions: str = "{}"
) -> Any:
    return client.post(
        "/api/measurements/",
        {
            "subject": subject,
            "measurement_type": "eis",
            "temperature_C": 25,
            "conditions": conditions,
            "upload": SimpleUploadedFile(name, content),
        },
        format="multipart",
    )


def test_upload_runs_the_analysis_and_the_results_come_back(
    api: Any, lab: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = api("operator")
    path = require_shared_data("eis", "exampleDataBioLogic.mpt")
    with django_capture_on_commit_callbacks(execute=True):
        created = post_spectrum(
            client, lab.cell.code, path.read_bytes(), path.name, '{"circuit": "R0-p(R1,CPE1)"}'
        )
    assert created.status_code == 201, created.json()
    run = created.json()["latest_run"]
    # the response is written before the commit: the run is queued, and its URL is given
    assert run["status"] == "queued" and run["url"] == f"/api/runs/{run['id']}/"
    followed = client.get(run["url"]).json()
    assert followed["status"] == "done", followed["error"]
    assert followed["revision"] == 1
    body = client.get(f"/api/measurements/{created.json()['code']}/").json()
    assert 60 < body["results"]["r_series_ohm"]["value"] < 67
    assert body["latest_run"]["status"] == "done"
    values = client.get(f"/api/result-values/?subject={lab.cell.code}&name=r_total_ohm").json()[
        "results"
    ]
    assert [v["unit"] for v in values] == ["Ω"]


def test_upload_later_and_bad_uploads(
    api: Any, lab: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = api("operator")
    code = lab.measurement.code
    with django_capture_on_commit_callbacks(execute=True):
        attached = client.post(
            f"/api/measurements/{code}/upload/",
            {"upload": SimpleUploadedFile("s.csv", spectrum_csv())},
            format="multipart",
        )
    assert attached.status_code == 201, attached.json()
    assert attached.json()["raw_file"]["original_name"] == "s.csv"
    assert client.get(attached.json()["latest_run"]["url"]).json()["status"] == "done"
    again = client.post(
        f"/api/measurements/{code}/upload/",
        {"upload": SimpleUploadedFile("t.csv", spectrum_csv(r_interface_ohm=50))},
        format="multipart",
    )
    assert again.status_code == 400 and "already has its raw file" in again.json()["upload"][0]
    missing = client.post(f"/api/measurements/{code}/upload/", {}, format="multipart")
    assert missing.status_code == 400 and "upload" in missing.json()
    # Binary junk is refused at the upload gate (lims/uploads.py): no measurement, no file.
    # (A file the readers recognise but cannot read is kept, and its run fails: test_runs.py.)
    measurements, files = Measurement.objects.count(), StoredFile.objects.count()
    junk = post_spectrum(client, lab.cell.code, b"\x00\x01garbage" * 50, "junk.bin")
    assert junk.status_code == 415
    assert "junk.bin: binary content (a NUL byte) at byte 0" in junk.json()["upload"][0]
    assert (Measurement.objects.count(), StoredFile.objects.count()) == (measurements, files)


def test_only_scientists_rerun_and_parameters_are_checked(
    api: Any, lab: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = post_spectrum(api("operator"), lab.cell.code, spectrum_csv())
    code = created.json()["code"]
    url = f"/api/measurements/{code}/rerun/"
    for role in ("operator", "auditor"):
        assert api(role).post(url, {}).status_code == 403, role
    bad = api("scientist").post(url, {"parameters": {"circuit": "R0", "cutof": 1}})
    assert bad.status_code == 400 and "cutof" in bad.json()["parameters"][0]
    with django_capture_on_commit_callbacks(execute=True):
        rerun = api("scientist").post(url, {"parameters": {"f_max_Hz": 1e5}}, format="json")
    assert rerun.status_code == 202, rerun.json()
    assert rerun.json()["parameters"]["f_max_Hz"] == 1e5
    revisions = api("auditor").get(f"/api/revisions/?measurement={code}").json()["results"]
    assert [(r["number"], r["is_current"]) for r in revisions] == [(2, True), (1, False)]
    assert revisions[0]["parameters"]["f_max_Hz"] == 1e5
    assert revisions[1]["parameters"]["f_max_Hz"] is None
    assert ResultRevision.objects.filter(measurement__code=code).count() == 2


def test_flags_are_listed_filtered_and_acknowledged_with_history(
    api: Any, lab: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        m = measurement_create(
            user=lab.cell.created_by,
            subject=lab.pellet,
            measurement_type="density",
            conditions={"density_g_cm3": 3.9},
        )
    client = api("auditor")
    mine = f"/api/flags/?open=true&record_kind=pellet&measurement={m.code}"
    open_flags = client.get(mine).json()["results"]
    assert [f["kind"] for f in open_flags] == ["density_low"]
    flag_id = open_flags[0]["id"]
    url = f"/api/flags/{flag_id}/acknowledge/"
    assert api("operator").post(url, {"comment": "fine"}).status_code == 403
    assert api("scientist").post(url, {}).status_code == 400
    ok = api("scientist").post(url, {"comment": "Pellet set aside for XRD only."})
    assert ok.status_code == 200 and ok.json()["acknowledged_by"] == "scientist"
    assert not ok.json()["is_open"]
    assert api("scientist").post(url, {"comment": "again"}).status_code == 400
    assert client.get(mine).json()["results"] == []
    assert client.get("/api/flags/?acknowledged=true").json()["count"] == 1
    others = client.get("/api/flags/?open=true").json()["results"]
    assert [(f["record"], f["kind"]) for f in others] == [(lab.batch.code, "phase")]
    entry = HistoryEntry.objects.filter(record_code=lab.pellet.code, model="analysis.flag").first()
    assert entry is not None and entry.username == "scientist"
    assert entry.changes["acknowledgement"] == ["", "Pellet set aside for XRD only."]
    assert Flag.objects.filter(pk=flag_id).exists()  # never deleted
    assert api("admin").delete(f"/api/flags/{flag_id}/").status_code == 405


def test_registry_is_listed(api: Any) -> None:
    analyses = {a["key"]: a for a in api("operator").get("/api/analyses/").json()}
    assert {"eis", "ccd", "density", "hardness", "stripping", "cycling", "xrd"} <= set(analyses)
    params = {p["name"]: p for p in analyses["eis"]["params"]}
    assert params["area_cm2"]["from_records"] and not params["circuit"]["from_records"]
    units = {q["name"]: q["unit"] for q in analyses["eis"]["quantities"]}
    assert units["asr_interface_ohm_cm2"] == "Ω·cm²"


@pytest.mark.parametrize(
    "url",
    ["/api/measurements/", "/api/runs/", "/api/revisions/", "/api/result-values/", "/api/flags/"],
)
def test_list_queries_do_not_grow_with_length(
    api: Any, lab: Any, url: str, django_capture_on_commit_callbacks: Any
) -> None:
    client = api("auditor")

    def add(n: int) -> None:
        for i in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                measurement_create(
                    user=lab.cell.created_by,
                    subject=lab.pellet,
                    measurement_type="density",
                    conditions={"density_g_cm3": 4.0 + 0.01 * i},
                )

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    add(2)
    few = count()
    add(6)
    assert count() == few

"""The record page's analysis panels: results, runs, flags; re-run and acknowledge from the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analysis.models import Flag, ResultRevision
from analysis.services import measurement_create
from demo.synthetic import eis_spectrum_csv as spectrum_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def spectrum(lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        return measurement_create(
            user=users["operator"],
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=SimpleUploadedFile("s.csv", spectrum_csv()),
            raw_name="s.csv",
        )


def test_measurement_page_shows_results_and_parameters(
    client: Any, users: dict[str, Any], spectrum: Any
) -> None:
    client.force_login(users["operator"])
    page = client.get(spectrum.get_absolute_url()).content.decode()
    assert "Run " in page and ": done" in page and "revision 1" in page
    assert "r_interface_ohm" in page and "asr_interface_ohm_cm2" in page and "Ω·cm²" in page
    assert "from the records" not in page and ">record<" in page  # parameter sources
    assert "Re-run" not in page  # operators cannot
    revision = ResultRevision.objects.get(measurement=spectrum, is_current=True)
    plot = f"/api/revisions/{revision.pk}/plots/nyquist.svg"
    assert f'src="{plot}"' in page
    assert client.get(plot)["Content-Type"].startswith("image/svg+xml")


def test_scientist_reruns_from_the_page(
    client: Any,
    users: dict[str, Any],
    spectrum: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(users["scientist"])
    page = client.get(spectrum.get_absolute_url()).content.decode()
    assert "Re-run" in page
    url = f"/analysis/measurements/{spectrum.code}/rerun/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"param-f_max_Hz": "100000", "param-circuit": ""})
    assert response.status_code == 302
    current = ResultRevision.objects.get(measurement=spectrum, is_current=True)
    assert current.number == 2 and current.run.parameters["f_max_Hz"] == 100000
    bad = client.post(url, {"param-cutof": "1"}, follow=True).content.decode()
    assert "Unknown parameter" in bad
    client.force_login(users["operator"])
    assert client.post(url, {}).status_code == 403


def test_flags_on_the_page_and_acknowledged_there(
    client: Any, users: dict[str, Any], lab: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        m = measurement_create(
            user=users["operator"],
            subject=lab.pellet,
            measurement_type="density",
            conditions={"density_g_cm3": 4.2},
        )
    client.force_login(users["scientist"])
    page = client.get(lab.pellet.get_absolute_url()).content.decode()
    assert "1 open" in page and "Relative density" in page
    assert "relative_density_pct" in page  # the pellet's results panel
    flag = Flag.objects.get(revision__measurement=m)
    url = f"/analysis/flags/{flag.pk}/acknowledge/"
    assert "Say why" in client.post(url, {"comment": ""}, follow=True).content.decode()
    client.post(url, {"comment": "Known: pressed at low load"})
    page = client.get(lab.pellet.get_absolute_url()).content.decode()
    assert "1 open" not in page and "Known: pressed at low load" in page
    # the measurement's own page shows the flag its revision raised
    page = client.get(flag.revision.measurement.get_absolute_url()).content.decode()
    assert "Known: pressed at low load" in page

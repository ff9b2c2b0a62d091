"""Plots: valid SVG with labelled axes, drawn from real and synthetic results, cached in the
default storage (a second request draws nothing), served read-only to every role."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from typing import Any, ClassVar

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis import plots
from analysis.models import AnalysisRun, ResultRevision
from analysis.services import measurement_create
from lims.roles import ROLES
from tests.analysis.results_lab import Results, build_results, hardness_csv, measure
from tests.shared_data import require_shared_data

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


class CountingStorage(FileSystemStorage):
    """The file system storage, noting every file it saves."""

    saved: ClassVar[list[str]] = []

    def _save(self, name: str, content: Any) -> str:
        CountingStorage.saved.append(name)
        return super()._save(name, content)


@pytest.fixture
def storage(settings: Any, tmp_path: Any) -> type[CountingStorage]:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": f"{__name__}.CountingStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    CountingStorage.saved = []
    return CountingStorage


def drawn() -> list[str]:
    return [name for name in CountingStorage.saved if name.startswith("plots/")]


def texts(svg: bytes) -> str:
    """Every text of a valid SVG document, joined by newlines."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def spectrum(lab: Any, users: dict[str, Any], capture: Any, *parts: str) -> ResultRevision:
    path = require_shared_data(*parts)
    with capture(execute=True):
        m = measurement_create(
            user=users["operator"],
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=SimpleUploadedFile(path.name, path.read_bytes()),
            raw_name=path.name,
        )
    run = AnalysisRun.objects.get(measurement=m)
    assert run.status == "done", run.error
    return ResultRevision.objects.get(measurement=m)


@pytest.fixture
def results(
    storage: Any, lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> Results:
    return build_results(lab, users, django_capture_on_commit_callbacks)


def test_nyquist_of_a_real_spectrum_draws_data_and_fit_and_is_drawn_once(
    storage: Any, lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    revision = spectrum(
        lab, users, django_capture_on_commit_callbacks, "eis", "exampleDataBioLogic.mpt"
    )
    svg = plots.revision_svg(revision, "nyquist")
    words = texts(svg)
    assert "Z′ (Ω)" in words and "−Z″ (Ω)" in words
    assert "data" in words and f"fit {revision.summary['circuit']}" in words
    assert revision.measurement.code in words
    assert len(drawn()) == 1 and drawn()[0].startswith(f"plots/revisions/{revision.pk}/nyquist-")
    again = plots.revision_svg(ResultRevision.objects.get(pk=revision.pk), "nyquist")
    assert again == svg and len(drawn()) == 1
    with pytest.raises(plots.PlotNotFound):
        plots.revision_svg(revision, "ccd")


def test_nyquist_of_an_eclab_binary_file_names_the_interface_arc(
    storage: Any, lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    revision = spectrum(lab, users, django_capture_on_commit_callbacks, "eclab", "geis.mpr")
    labels = {arc["label"] for arc in revision.summary["arcs"]}
    assert "interface" in labels
    words = texts(plots.revision_svg(revision, "nyquist"))
    assert "interface, R = 1" in words and " Ω, C = " in words
    assert "e+" not in words  # resistances without an exponent


def test_ccd_plot_marks_the_ccd_or_its_lower_bound(results: Results) -> None:
    failed = ResultRevision.objects.get(
        measurement__subject=results.cells["LiNa-25"], run__analysis="ccd"
    )
    words = texts(plots.revision_svg(failed, "ccd"))
    assert "CCD = 0.6 mA/cm² (cut-off reached)" in words
    assert {"Voltage (V)", "j (mA/cm²)", "Time (min)"} <= set(words.splitlines())
    bound = ResultRevision.objects.get(
        measurement__subject=results.cells["LiNa-60"], run__analysis="ccd"
    )
    assert "CCD > 1.2 mA/cm² (no step failed)" in texts(plots.revision_svg(bound, "ccd"))


def test_rollup_plots_label_their_axes_and_are_cached_by_the_revisions_they_draw(
    lab: Any, users: dict[str, Any], results: Results, django_capture_on_commit_callbacks: Any
) -> None:
    resistance = texts(plots.rollup_svg("resistance", lab.cell))
    assert {"Cycle number", "Resistance (Ω)", "R_bulk", "R_GB", "R_IF"} <= set(
        resistance.splitlines()
    )
    density = texts(plots.rollup_svg("density", lab.batch))
    assert "Relative density (%)" in density
    assert all(p.code in density for p in results.pellets)
    hardness = texts(plots.rollup_svg("hardness", lab.foil, results.reference_foil))
    assert "Martens hardness HM (N/mm²)" in hardness
    assert f"{results.reference_foil.code} (reference)" in hardness
    assert f"% against {results.reference_foil.code}" in hardness
    assert len(drawn()) == 3
    # the same data again: nothing drawn
    plots.rollup_svg("resistance", lab.cell)
    plots.rollup_svg("hardness", lab.foil, results.reference_foil)
    assert len(drawn()) == 3
    # another reference, or a new revision, is another plot
    plots.rollup_svg("hardness", lab.foil)
    with django_capture_on_commit_callbacks(execute=True):
        measure(users["operator"], lab.foil, "hardness", hardness_csv(5.0, 0.5, 20, seed=9))
    plots.rollup_svg("hardness", lab.foil, results.reference_foil)
    assert len(drawn()) == 5
    with pytest.raises(plots.PlotNotFound):
        plots.rollup_svg("density", lab.cell)


def test_drawing_in_threads_gives_the_same_svg_as_drawing_alone(results: Results) -> None:
    revisions = list(
        ResultRevision.objects.filter(run__analysis__in=["eis", "ccd"]).select_related(
            "run", "measurement__subject"
        )
    )
    kinds = [(r, plots.revision_plot_kinds(r)[0]) for r in revisions]
    alone = [plots._svg(kind.draw(r)) for r, kind in kinds]
    together: list[bytes] = [b""] * len(kinds)

    def draw(k: int) -> None:
        revision, kind = kinds[k]
        together[k] = plots._svg(kind.draw(revision))

    threads = [threading.Thread(target=draw, args=(k,)) for k in range(len(kinds))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kinds) == 7
    assert together == alone


def test_record_plots_lists_what_the_page_shows_in_two_queries(
    lab: Any, results: Results, api: Any
) -> None:
    with CaptureQueriesContext(connection) as captured:
        cell = plots.record_plots(lab.cell)
    assert len(captured.captured_queries) <= 2
    titles = [p.title for p in cell]
    latest = results.spectra[-1].code
    assert titles[0] == "Resistances against cycle number"
    assert f"Nyquist plot with the fitted model ({latest})" in titles
    assert any(t.startswith("Voltage and current density against time") for t in titles)
    assert len(titles) == 3
    foil = plots.record_plots(lab.foil)
    assert [p.title for p in foil] == ["Martens hardness of the indents"]
    assert [p.title for p in plots.record_plots(lab.batch)] == ["Density per pellet"]
    spectrum_plots = plots.record_plots(results.spectra[0])
    assert [p.title for p in spectrum_plots] == [
        f"Nyquist plot with the fitted model ({results.spectra[0].code})"
    ]
    client = api("auditor")
    for plot in [*cell, *foil, *spectrum_plots]:
        response = client.get(plot.url)
        assert response.status_code == 200, plot.url
        assert response["Content-Type"] == "image/svg+xml"
        texts(response.content)


def test_plot_endpoints_serve_svg_to_every_role_and_nobody_else(
    lab: Any, results: Results, api: Any, client: Any
) -> None:
    revision = ResultRevision.objects.get(measurement=results.spectra[0])
    url = f"/api/revisions/{revision.pk}/plots/nyquist.svg"
    for role in ROLES:
        response = api(role).get(url, HTTP_ACCEPT="image/svg+xml")
        assert response.status_code == 200, role
        assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert client.get(url).status_code in {401, 403}
    auditor = api("auditor")
    assert auditor.get(f"/api/revisions/{revision.pk}/plots/ccd.svg").status_code == 404
    assert auditor.get("/api/revisions/999999/plots/nyquist.svg").status_code == 404
    response = auditor.get(f"/api/rollups/cells/{lab.cell.code}/resistance.svg")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-cache"
    assert auditor.get(f"/api/rollups/cells/{lab.batch.code}/resistance.svg").status_code == 404
    hardness = f"/api/rollups/foils/{lab.foil.code}/hardness.svg"
    response = auditor.get(hardness, {"reference": results.reference_foil.code})
    assert "(reference)" in texts(response.content)
    assert auditor.get(hardness, {"reference": "NOPE"}).status_code == 400


def test_rollup_plots_of_records_without_results_say_so(storage: Any, lab: Any) -> None:
    for name, record in (("resistance", lab.cell), ("density", lab.batch), ("hardness", lab.foil)):
        words = texts(plots.rollup_svg(name, record))
        assert "No results yet" in words and record.code in words, name

"""Read-only roll-ups (JSON) and plots (SVG) of results; any signed-in role may read them.

The roll-ups' JSON goes through the serializers below, so the OpenAPI schema documents exactly
what is served.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import plots, rollups
from analysis.models import ResultRevision
from lims.api.query import query_value
from lims.models import Record

# --- serializers (documentation and shape of the JSON) --------------------------------------


class _Stats(serializers.Serializer):
    mean = serializers.FloatField()
    sd = serializers.FloatField(allow_null=True, help_text="Sample sd (n − 1); null for n = 1")


class _DensityStats(_Stats):
    min = serializers.FloatField()
    max = serializers.FloatField()


class PelletDensitySerializer(serializers.Serializer):
    pellet = serializers.CharField()
    measurement = serializers.CharField(help_text="The pellet's latest density measurement")
    measured_at = serializers.DateTimeField()
    density_g_cm3 = serializers.FloatField()
    relative_density_pct = serializers.FloatField(allow_null=True)
    theoretical_density_g_cm3 = serializers.FloatField(allow_null=True)


class BatchDensitySerializer(serializers.Serializer):
    batch = serializers.CharField()
    n = serializers.IntegerField(help_text="Pellets with a density")
    density_g_cm3 = _DensityStats(allow_null=True)
    relative_density_pct = _Stats(
        allow_null=True, help_text="Null unless the pellets share one theoretical density"
    )
    theoretical_density_g_cm3 = serializers.FloatField(allow_null=True)
    pellets = PelletDensitySerializer(many=True)


class HardnessSummarySerializer(serializers.Serializer):
    n = serializers.IntegerField()
    mean_N_mm2 = serializers.FloatField()
    std_N_mm2 = serializers.FloatField(allow_null=True)
    median_N_mm2 = serializers.FloatField()
    std_error_N_mm2 = serializers.FloatField(allow_null=True)
    reference_n = serializers.IntegerField(allow_null=True)
    reference_mean_N_mm2 = serializers.FloatField(allow_null=True)
    change_percent = serializers.FloatField(
        allow_null=True, help_text="100 (mean − reference mean) / reference mean"
    )
    change_std_error_percent = serializers.FloatField(allow_null=True)


class HardnessMeasurementSerializer(serializers.Serializer):
    measurement = serializers.CharField()
    foil = serializers.CharField()
    revision_id = serializers.IntegerField()
    n = serializers.IntegerField()
    mean_N_mm2 = serializers.FloatField(allow_null=True)


class FoilHardnessSerializer(serializers.Serializer):
    foil = serializers.CharField()
    reference = serializers.CharField(allow_null=True)
    summary = HardnessSummarySerializer(allow_null=True, help_text="Over every indent pooled")
    measurements = HardnessMeasurementSerializer(many=True)


class ResistancePointSerializer(serializers.Serializer):
    measurement = serializers.CharField()
    measured_at = serializers.DateTimeField()
    elapsed_h = serializers.FloatField(help_text="Since the cell's first spectrum")
    cycle_number = serializers.FloatField(
        allow_null=True, help_text="From the measurement's conditions (cycle_number)"
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name in rollups.RESISTANCE_NAMES:
            fields[name] = serializers.FloatField(allow_null=True)
            fields[f"{name}_std_error"] = serializers.FloatField(allow_null=True)
        return fields


class CellResistanceSerializer(serializers.Serializer):
    cell = serializers.CharField()
    x = serializers.ChoiceField(
        choices=["cycle_number", "elapsed_h"], help_text="What the series runs against"
    )
    series = ResistancePointSerializer(many=True, help_text="Oldest spectrum first")


class CCDCellSerializer(serializers.Serializer):
    cell = serializers.CharField()
    cell_type = serializers.CharField()
    temperature_C = serializers.FloatField(allow_null=True)
    measurement = serializers.CharField()
    measured_at = serializers.DateTimeField()
    ccd_mA_cm2 = serializers.FloatField()
    ccd_is_lower_bound = serializers.BooleanField()
    ccd_shown = serializers.CharField(help_text='"1.25", or "> 5.00" for a lower bound')


class CCDGroupSerializer(serializers.Serializer):
    cell_type = serializers.CharField()
    temperature_C = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    mean_mA_cm2 = serializers.FloatField()
    sd_mA_cm2 = serializers.FloatField(allow_null=True)
    min_mA_cm2 = serializers.FloatField()
    max_mA_cm2 = serializers.FloatField()
    lower_bounds = serializers.IntegerField(help_text="CCDs in the group that are lower bounds")
    mean_shown = serializers.CharField(help_text='"> mean" when the group holds a lower bound')
    min_shown = serializers.CharField()
    max_shown = serializers.CharField()


class CCDComparisonSerializer(serializers.Serializer):
    cells = CCDCellSerializer(many=True)
    groups = CCDGroupSerializer(many=True, help_text="By cell type and test temperature")


# --- views ----------------------------------------------------------------------------------


def _record(code: str, kind: str) -> Record:
    return get_object_or_404(Record, code=code, kind=kind)


def _reference(request: Request) -> Record | None:
    code = query_value(request, "reference")
    if not code:
        return None
    reference = Record.objects.filter(code=code, kind="metalfoil").first()
    if reference is None:
        raise ValidationError({"reference": f"No foil with the code {code}."})
    return reference


REFERENCE = OpenApiParameter(
    "reference", OpenApiTypes.STR, description="Code of the reference foil to compare against"
)


class BatchDensityView(APIView):
    """Density and relative density of each pellet of a batch, and mean ± sd over them."""

    @extend_schema(responses=BatchDensitySerializer)
    def get(self, request: Request, code: str) -> Response:
        rollup = rollups.batch_density(_record(code, "synthesisbatch"))
        return Response(BatchDensitySerializer(rollup.to_dict()).data)


class FoilHardnessView(APIView):
    """Martens hardness of a foil over all its indents, and the % change against a reference."""

    @extend_schema(parameters=[REFERENCE], responses=FoilHardnessSerializer)
    def get(self, request: Request, code: str) -> Response:
        foil = _record(code, "metalfoil")
        rollup = rollups.foil_hardness(foil, _reference(request))
        return Response(FoilHardnessSerializer(rollup.to_dict()).data)


class CellResistanceView(APIView):
    """A cell's R_bulk, R_GB, R_IF (and ASR) over its spectra, by cycle number or time."""

    @extend_schema(responses=CellResistanceSerializer)
    def get(self, request: Request, code: str) -> Response:
        rollup = rollups.cell_resistance(_record(code, "cell"))
        return Response(CellResistanceSerializer(rollup.to_dict()).data)


class CCDComparisonView(APIView):
    """CCD per cell and per (cell type, temperature) group, with lower bounds as "> x"."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "cells", OpenApiTypes.STR, description="Comma-separated cell codes (default: all)"
            )
        ],
        responses=CCDComparisonSerializer,
    )
    def get(self, request: Request) -> Response:
        cells = None
        codes = [c for c in (query_value(request, "cells") or "").split(",") if c]
        if codes:
            cells = list(Record.objects.filter(code__in=codes, kind="cell"))
            unknown = sorted(set(codes) - {c.code for c in cells})
            if unknown:
                raise ValidationError({"cells": f"No cell with the code {', '.join(unknown)}."})
        rollup = rollups.ccd_comparison(cells)
        return Response(CCDComparisonSerializer(rollup.to_dict()).data)


class SVGRenderer(BaseRenderer):
    """Lets a client ask for ``image/svg+xml``; an error body is sent as JSON text."""

    media_type = "image/svg+xml"
    format = "svg"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return data if isinstance(data, bytes) else json.dumps(data).encode()


SVG_RESPONSES = {
    (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.BINARY, description="The plot"),
    404: OpenApiResponse(description="No such record or plot"),
}


def _svg_response(draw: Callable[[], bytes], immutable: bool) -> HttpResponse:
    try:
        svg = draw()
    except plots.PlotNotFound as exc:
        raise NotFound(str(exc)) from exc
    response = HttpResponse(svg, content_type="image/svg+xml")
    # A revision never changes; a roll-up changes with every new result.
    response["Cache-Control"] = (
        "private, max-age=31536000, immutable" if immutable else "private, no-cache"
    )
    return response


# Operation ids are given: the ones made from a path ending in ".svg" hold a dot, which stops
# Swagger UI from rendering the docs page.


class RevisionPlotView(APIView):
    """One plot of a result revision (``nyquist`` of an EIS fit, ``ccd`` of a CCD test,
    ``hardness`` of an indentation series), drawn once and cached."""

    renderer_classes = [SVGRenderer, JSONRenderer]

    @extend_schema(operation_id="revisions_plot_svg", responses=SVG_RESPONSES)
    def get(self, request: Request, pk: int, name: str) -> HttpResponse:
        revision = get_object_or_404(
            ResultRevision.objects.select_related("run", "measurement__subject").defer("summary"),
            pk=pk,
        )
        return _svg_response(lambda: plots.revision_svg(revision, name), immutable=True)


class _RollupPlotView(APIView):
    renderer_classes = [SVGRenderer, JSONRenderer]
    name = ""

    def plot(self, code: str, reference: Record | None = None) -> HttpResponse:
        record = _record(code, plots.ROLLUP_PLOTS[self.name][0])
        return _svg_response(
            lambda: plots.rollup_svg(self.name, record, reference), immutable=False
        )


class BatchDensityPlotView(_RollupPlotView):
    """The density of each pellet of a batch, with the batch's mean ± sd."""

    name = "density"

    @extend_schema(operation_id="rollups_batch_density_svg", responses=SVG_RESPONSES)
    def get(self, request: Request, code: str) -> HttpResponse:
        return self.plot(code)


class CellResistancePlotView(_RollupPlotView):
    """A cell's R_bulk, R_GB and R_IF against cycle number (or time)."""

    name = "resistance"

    @extend_schema(operation_id="rollups_cell_resistance_svg", responses=SVG_RESPONSES)
    def get(self, request: Request, code: str) -> HttpResponse:
        return self.plot(code)


class FoilHardnessPlotView(_RollupPlotView):
    """The hardness of a foil's indents, beside the reference foil's when one is given."""

    name = "hardness"

    @extend_schema(
        operation_id="rollups_foil_hardness_svg", parameters=[REFERENCE], responses=SVG_RESPONSES
    )
    def get(self, request: Request, code: str) -> HttpResponse:
        return self.plot(code, _reference(request))

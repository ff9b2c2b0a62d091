from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from cells import filtersets, services
from cells.api.serializers import AssemblyStepSerializer, CellSerializer, CellStatusSerializer
from cells.models import AssemblyStep, Cell
from lims.api.base import IF_MATCH, RecordViewSet, ServiceViewSet, if_match_version


class CellViewSet(RecordViewSet):
    # Prefetch, not select_related: every related record joins two tables, and PostgreSQL spent
    # ~50 ms planning the 14-join query of a 50-row page (bench/trace.py).
    queryset = Cell.objects.select_related("created_by").prefetch_related(
        "separator__pellet", "electrode_1", "electrode_2", "collector_lot", "glovebox"
    )
    serializer_class = CellSerializer
    filterset_class = filtersets.CellFilterSet
    ordering_fields = ["code", "created_at", "assembled_at", "status"]
    create_service = staticmethod(services.cell_assemble)

    @extend_schema(request=CellStatusSerializer, responses=CellSerializer, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def status(self, request: Request, code: str) -> Response:
        """Move the cell to another status (assembled, on test, failed, retired)."""
        if not request.user.has_perm("cells.change_cell"):  # a POST, but an edit, not a create
            raise PermissionDenied("Changing a cell's status needs the scientist role.")
        expected_version = if_match_version(request)
        cell = self.get_object()
        payload = CellStatusSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        cell = self._versioned = services.cell_set_status(
            user=request.user,
            cell=cell,
            status=payload.validated_data["status"],
            expected_version=expected_version,
        )
        return Response(CellSerializer(cell, context=self.get_serializer_context()).data)


class AssemblyStepViewSet(ServiceViewSet):
    queryset = AssemblyStep.objects.select_related(
        "cell", "protocol", "equipment", "glovebox_reading", "operator"
    )
    serializer_class = AssemblyStepSerializer
    filterset_class = filtersets.AssemblyStepFilterSet
    ordering_fields = ["performed_at", "sequence"]
    create_service = staticmethod(services.cell_add_step)

from __future__ import annotations

from typing import Any

from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request


class RolePermission(DjangoModelPermissions):
    """Model permissions (granted through the role groups), with reads needing ``view``.

    Views without a model queryset (trace, history, schema) need only a signed-in user who can
    view records, which every role can.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return request.user.has_perm("lims.view_record")
        return super().has_permission(request, view)

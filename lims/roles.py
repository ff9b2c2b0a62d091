"""The lab's roles as Django groups, with model permissions derived from the models themselves.

- operator: reads everything; logs process steps, passes, readings and measurements
  (models with ``operator_logs = True``), and cuts electrodes and assembles cells
  (``OPERATOR_MAKES``): at the glovebox it is the operators who build the cells. Editing,
  deleting and moving a cell to another status stay with scientists.
- scientist: creates, edits and deletes every lab record.
- auditor: reads and exports everything, changes nothing.
- admin: everything, including users.

Rows the system keeps itself (history, lineage edges, code counters, and models that say
``system_kept = True``) are writable by nobody. Append-only logs people add to (models that say
``append_only = True``, e.g. release signatures) get ``add`` for scientists and admins, and
``change`` and ``delete`` for nobody.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

OPERATOR, SCIENTIST, AUDITOR, ADMIN = "operator", "scientist", "auditor", "admin"
ROLES = (OPERATOR, SCIENTIST, AUDITOR, ADMIN)
OPERATOR_MAKES = {"processing.electrodepiece", "cells.cell"}
SYSTEM_MODELS = {"lims.historyentry", "lims.link", "lims.codesequence", "lims.idempotencykey"}
WRITE_ACTIONS = ("add", "change", "delete")


def _perm(model: Any, action: str) -> Permission:
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    codename = f"{action}_{model._meta.model_name}"
    perm, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=codename,
        defaults={"name": f"Can {action} {model._meta.verbose_name}"},
    )
    return perm


def role_permissions() -> dict[str, set[Permission]]:
    grants: dict[str, set[Permission]] = {role: set() for role in ROLES}
    for app_label in settings.LIMS_APPS:
        for model in apps.get_app_config(app_label).get_models():
            view = _perm(model, "view")
            for role in ROLES:
                grants[role].add(view)
            if model._meta.label_lower in SYSTEM_MODELS or getattr(model, "system_kept", False):
                continue
            actions = ("add",) if getattr(model, "append_only", False) else WRITE_ACTIONS
            writes = {action: _perm(model, action) for action in actions}
            grants[SCIENTIST].update(writes.values())
            grants[ADMIN].update(writes.values())
            if getattr(model, "operator_logs", False) or model._meta.label_lower in OPERATOR_MAKES:
                grants[OPERATOR].add(writes["add"])
    for model_name in ("user", "group"):
        model = apps.get_model("auth", model_name)
        grants[ADMIN].update(_perm(model, a) for a in ("view", "add", "change", "delete"))
    grants[ADMIN].add(_perm(apps.get_model("authtoken", "token"), "add"))
    return grants


def ensure_roles(**kwargs: Any) -> None:
    """Create or refresh the four groups; safe to run after every migrate."""
    for role, perms in role_permissions().items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(perms)


def user_roles(user: Any) -> list[str]:
    if not user.is_authenticated:
        return []
    names = [g.name for g in user.groups.all() if g.name in ROLES]
    if user.is_superuser and ADMIN not in names:
        names.append(ADMIN)
    return names

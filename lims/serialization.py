"""Django's JSON serializer, keeping times to the microsecond (format ``limsjson``).

Django's own JSON encoder cuts datetimes to milliseconds, so a dump and load would change every
timestamp and break the history's hashes; backups use this format instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.serializers import json as django_json
from django.core.serializers.json import DjangoJSONEncoder

FORMAT = "limsjson"


class ExactJSONEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


class Serializer(django_json.Serializer):
    def _init_options(self) -> None:
        self.options["cls"] = ExactJSONEncoder
        super()._init_options()  # type: ignore[misc]  # untyped in django-stubs


Deserializer = django_json.Deserializer

"""Point 6: schemathesis fuzzes the API against its own OpenAPI schema, as admin and operator.

The schema is the one drf-spectacular generates, served at ``/api/schema/`` by the WSGI app
under test (on the test database, with the small lab of ``tests.factories.build_chain``), and
every operation in it is fuzzed: nothing is excluded (the schema and docs views and DRF's
login pages are not operations of the schema). Each operation gets the tests schemathesis'
pytest plugin builds: the schema's examples (it has none), the coverage phase (boundary
values, each kind of malformed parameter, header and body, repeated query parameters, methods
the path does not take) and the fuzzing phase (random valid and invalid requests). Every check
is on. The run is reproducible: a fixed seed, derandomized generation, no example database.

As admin both phases run; as operator the fuzzing phase only: the coverage phase would repeat
the admin's cases on the same code, with the writes an operator may not make refused (403)
before anything is read.

Bounds, chosen for time (about 40 s of CPU for the module; 1½ to 3 minutes of wall time on the
loaded 2-core test machine): ``MAX_EXAMPLES`` random requests per operation and role, and of
the coverage phase's cases the first of each kind, i.e. per operation, method, mode, scenario
and parameter (the phase makes ~7,500 cases, mostly the same mistake in another type; one of
each is ~1,800). About 2,200 requests as admin, 400 as operator.

Figures (one line per role in the assertion message): 0 server errors, 0 schema violations
(response bodies, media types, headers), 0 malformed requests accepted, 0 undocumented status
codes, and 0 findings of the other checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.authtoken.models import Token
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.pytest.lazy import get_all_tests

from lims.roles import ADMIN, OPERATOR

pytestmark = pytest.mark.django_db

FUZZ_SEED = 20261124
MAX_EXAMPLES = 3

#: Which figure a finding counts in, by the check that raised it.
FIGURE_OF_CHECK = {
    "not_a_server_error": "server errors",
    "response_schema_conformance": "schema violations",
    "content_type_conformance": "schema violations",
    "response_headers_conformance": "schema violations",
    "negative_data_rejection": "malformed requests accepted",
    "status_code_conformance": "undocumented status codes",
}
FIGURES = (
    "server errors",
    "schema violations",
    "malformed requests accepted",
    "undocumented status codes",
    "other findings",
)

# Where our answers differ from a check's default expectations for a reason, not a defect.
CHECKS_CONFIG = {
    # RFC 6585 made 428 Precondition Required for exactly this: a write without If-Match.
    "missing_required_header": {"expected-statuses": [400, 401, 403, 406, 415, 422, 428]},
}
# A schema-valid request can still be refused for what the database holds, which no schema
# states: a code naming a record that does not exist (a cell's separator, ?reference=), a unique
# name already taken, a separator already built into a cell (400, naming the field); a version
# in If-Match that is no longer current (412); an Idempotency-Key already used for another body
# (422). An upload's bytes are only "binary" to a schema: a file no reader accepts is refused
# for its content (415), and one over the size limit (413). Writes and the roll-ups that take
# codes may answer those; the other reads may not.
STATE_DEPENDENT = ["2xx", 400, 401, 403, 404, 409, 412, 413, 415, 422]
OPERATIONS_CONFIG = [
    {
        "include-method": ["POST", "PUT", "PATCH", "DELETE"],
        "checks": {"positive_data_acceptance": {"expected-statuses": STATE_DEPENDENT}},
    },
    {
        "include-path-regex": "^/api/rollups/(ccd|foils)/",
        "checks": {"positive_data_acceptance": {"expected-statuses": STATE_DEPENDENT}},
    },
]


@dataclass
class Findings:
    """Distinct failures (schemathesis' own identity: operation, kind and key) by figure."""

    requests: int = 0
    operations: int = 0
    by_figure: dict[str, list[tuple[Failure, str]]] = field(
        default_factory=lambda: {name: [] for name in FIGURES}
    )

    def add(self, failure: Failure, curl: str) -> None:
        figure = next(
            (FIGURE_OF_CHECK[c] for c in failure.checks if c in FIGURE_OF_CHECK), "other findings"
        )
        found = self.by_figure[figure]
        if all(failure != seen for seen, _ in found):
            found.append((failure, curl))

    def figures(self) -> dict[str, int]:
        return {name: len(found) for name, found in self.by_figure.items()}

    def report(self, role: str) -> str:
        lines = [
            f"as {role}, {self.requests} requests over {self.operations} operations: "
            + ", ".join(f"{n} {name}" for name, n in self.figures().items())
        ]
        for name, found in self.by_figure.items():
            for failure, curl in found:
                message = " / ".join(line for line in failure.message.splitlines()[:6] if line)
                lines.append(f"- {name}: {failure.operation}: {failure.title}: {message}\n  {curl}")
        return "\n".join(lines)


@pytest.fixture
def wsgi_app(settings: Any, tmp_path: Any) -> Iterator[Any]:
    """The project's WSGI application, as gunicorn runs it, on the test's database."""
    from lims.wsgi import application

    settings.ALLOWED_HOSTS = ["localhost"]  # the host schemathesis' WSGI client sends
    # Uploaded files go to a directory of this test, not the shared test media.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    # The handler closes "old" connections when a request starts and ends, which would close
    # the test's own transaction; Django's test client lifts this the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", [ADMIN, OPERATOR])
def test_api_fuzz_finds_0_errors_0_violations_0_accepted_0_undocumented(
    role: str, users: dict[str, Any], lab: Any, wsgi_app: Any
) -> None:
    token, _ = Token.objects.get_or_create(user=users[role])
    auth = {"Authorization": f"Token {token.key}"}
    config = schemathesis.Config.from_dict(
        {
            "seed": FUZZ_SEED,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {"coverage": {"enabled": role == ADMIN}},
            "checks": CHECKS_CONFIG,
            "operations": OPERATIONS_CONFIG,
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, config=config, headers=auth)
    coverage_kinds: set[tuple[Any, ...]] = set()

    @schema.hook
    def filter_case(context: schemathesis.HookContext, case: schemathesis.Case) -> bool:
        """The first coverage case of each kind: operation, method, mode, scenario and the
        parameter it is about (the fuzzing phase is bounded by MAX_EXAMPLES instead)."""
        meta = case.meta
        if meta is None or meta.phase.name != "coverage":
            return True
        data = meta.phase.data
        kind = (
            case.operation.label,
            case.method,
            meta.generation.mode,
            getattr(data, "scenario", None),
            getattr(data, "parameter_location", None),
            getattr(data, "parameter", None),
        )
        if kind in coverage_kinds:
            return False
        coverage_kinds.add(kind)
        return True

    findings = Findings()

    def run(case: schemathesis.Case) -> None:
        findings.requests += 1
        try:
            case.call_and_validate(headers=auth)
        except FailureGroup as group:
            for failure in group.exceptions:
                findings.add(failure, case.as_curl_command())

    # The tests schemathesis' pytest plugin makes for each operation (examples, coverage,
    # fuzzing), run here in one test so that the findings of all operations add up.
    unusable = []
    for result in get_all_tests(schema=schema, test_func=run, settings=None, given_kwargs=None):
        if not isinstance(result, Ok):
            unusable.append(str(result.err()))  # an operation schemathesis cannot read
            continue
        _operation, test = result.ok()
        findings.operations += 1
        test()

    assert unusable == []
    assert findings.figures() == dict.fromkeys(FIGURES, 0), findings.report(role)


# --- what the fuzzer found, pinned one by one (a seed may not draw them again) ---------------


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("/api/cells/?page_size=10&page_size=20", "page_size"),
        ("/api/cells/?page_size=null", "page_size"),
        ("/api/cells/?page_size=0", "page_size"),
        ("/api/cells/?page_size=501", "page_size"),
        ("/api/cells/?page=2.5", "page"),
        ("/api/cells/?page=", "page"),
        ("/api/cells/?created_after=yesterday", "created_after"),
        ("/api/cells/?created_after=", "created_after"),
        ("/api/cells/?status=", "status"),
        ("/api/cells/?batch=LLZO-0001&batch=LLZO-0002", "batch"),
        ("/api/separators/?unused=null", "unused"),
        ("/api/revisions/?number=0.5", "number"),
        ("/api/cells/?ordering=mass", "ordering"),
        ("/api/cells/?ordering=code&ordering=-code", "ordering"),
        ("/api/cells/?format=pdf", "format"),
        ("/api/cells/?format=csv&format=csv", "format"),
        ("/api/cells/?format=csv&page=-1", "page"),
        ("/api/cells/?code=CELL%000001", "code"),
        ("/api/rollups/ccd/?cells=CELL-0001%00", "cells"),
        ("/api/trace/CELL-0001/?direction=up", "direction"),
        ("/api/trace/CELL-0001/?direction=forward&direction=backward", "direction"),
    ],
)
def test_a_malformed_query_parameter_answers_400_naming_it(
    api: Any, query: str, parameter: str
) -> None:
    response = api("operator").get(query)
    assert response.status_code == 400, (query, response.status_code, response.content)
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == [parameter], response.json()


def test_well_formed_queries_are_still_answered(api: Any, lab: Any) -> None:
    client = api("operator")
    # An offset past PostgreSQL's ±15:59 is valid RFC 3339; it is compared in UTC.
    after = "2000-01-01T00%3A00%3A00%2B16%3A41"
    for query in [
        f"/api/cells/?page_size=500&page=1&ordering=-created_at,code&created_after={after}",
        "/api/cells/?format=json&code_contains=",
        "/api/separators/?unused=false",
        "/api/revisions/?number=1",
        "/api/flags/?open=true",
        f"/api/trace/{lab.cell.code}/?direction=backward&kinds=",
    ]:
        response = client.get(query)
        assert response.status_code == 200, (query, response.content)
    assert client.get("/api/cells/?format=csv")["Content-Type"].startswith("text/csv")


def test_errors_are_json_and_methods_not_taken_answer_405(api: Any, lab: Any) -> None:
    client = api("scientist")
    cell = f"/api/cells/{lab.cell.code}/"
    tag = client.get(cell)["ETag"]
    not_routed = client.get("/api/flags/0.5/")  # no URL pattern matches it
    assert (not_routed.status_code, not_routed.json()) == (404, {"detail": "Not found."})
    nul_in_path = client.get("/api/cells/CELL%000001/")
    assert (nul_in_path.status_code, nul_in_path["Content-Type"]) == (404, "application/json")
    # Content negotiation runs before dispatch; a method the path does not take still gets 405.
    assert client.generic("TRACE", "/api/cells/?format=pdf").status_code == 405
    assert client.put(f"{cell}status/", {"status": "on_test"}, HTTP_IF_MATCH=tag).status_code == 405
    # A plot view renders SVG, but its errors are JSON, as the schema says.
    plot = client.get("/api/rollups/batches/LLZO-9999/density.svg", HTTP_ACCEPT="image/svg+xml")
    assert (plot.status_code, plot["Content-Type"]) == (404, "application/json")
    # If-Match is an ETag: a bare version number is not one (428, and nothing changes).
    bare = client.patch(cell, {"notes": "x"}, HTTP_IF_MATCH=tag.strip('"'))
    assert bare.status_code == 428 and "is not an ETag" in bare.json()["detail"]
    assert client.patch(cell, {"notes": "x"}, HTTP_IF_MATCH=tag).status_code == 200


def test_a_nul_character_in_a_body_answers_400_naming_the_field(api: Any, lab: Any) -> None:
    response = api("operator").post(
        "/api/measurements/",
        {"subject": lab.cell.code, "measurement_type": "eis", "conditions": {"note": "a\x00b"}},
    )
    assert response.status_code == 400
    assert response.json() == {"conditions": ["conditions.note holds a NUL character; remove it."]}
    form = api("operator").post(
        "/api/fold-passes/", "foil=x", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 415  # the API reads JSON; views taking a file add multipart

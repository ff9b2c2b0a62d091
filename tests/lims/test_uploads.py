"""Point 7: every upload passes one gate (lims/uploads.py). A corpus of malicious uploads is
refused on every upload path with a 4xx naming what and where, nothing is written outside the
media root (nothing at all is stored), and the server's memory stays bounded while it reads
files of up to 100 MiB."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.test.client import ClientHandler, RequestFactory
from rest_framework.authtoken.models import Token

from analysis.models import Measurement
from analysis.readers import detect_format
from analysis.services import measurement_create
from lims.files import stored_files_discard_orphans
from lims.models import StoredFile
from lims.services import record_delete
from lims.uploads import UploadRefused, client_name, upload_check
from tests.lims.malicious_uploads import CORPUS, MIB, Case, spectrum_csv, stream_post, workbook_with
from tests.shared_data import require_shared_data

pytestmark = pytest.mark.django_db
# analysis.readers (and so pandas) is imported above, before any memory is traced.

#: Traced memory a request may peak at. Reading any corpus file into memory would exceed it
#: (the 100 MiB junk, the 13 MiB XLSX of shared strings), let alone expanding a bomb.
MEMORY_BOUND = 8 * MIB


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return {c.label: c.build(folder / f"{i:02d}-{c.filename}") for i, c in enumerate(CORPUS)}


@pytest.fixture
def server(settings: Any, tmp_path: Path) -> Path:
    """Where the server may write: the media root and the upload temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "server" / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "server" / "tmp")
    Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True)
    Path(settings.MEDIA_ROOT).mkdir(parents=True)
    return tmp_path / "server"


def files_under(*roots: Path) -> set[Path]:
    return {p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()}


def token_of(user: Any) -> str:
    return Token.objects.get_or_create(user=user)[0].key


class Traced:
    peak = 0


@contextmanager
def traced() -> Iterator[Traced]:
    """The peak of memory Python allocated inside the block (every thread)."""
    result = Traced()
    tracemalloc.start()
    try:
        yield result
    finally:
        result.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def post_case(case: Case, path: Path, where: str, *, lab: Any, token: str) -> tuple[int, Any]:
    if where == "create":
        url, field = "/api/measurements/", "upload"
        fields = {"subject": lab.cell.code, "measurement_type": "eis", "temperature_C": "25"}
    elif where == "attach":
        url, field, fields = f"/api/measurements/{lab.measurement.code}/upload/", "upload", {}
    else:
        url, field, fields = "/api/readers/inspect/", "file", {}
    status, body = stream_post(
        url, token=token, path=path, filename=case.filename, file_field=field, fields=fields
    )
    return status, body.get(field, [body.get("detail", "")])[0]


def test_malicious_uploads_are_refused_on_every_path_nothing_written_memory_bounded(
    users: Any, lab: Any, corpus: dict[str, Path], server: Path, settings: Any, tmp_path: Path
) -> None:
    token = token_of(users["scientist"])
    media = Path(settings.MEDIA_ROOT)
    # This test's folders: the server's (media root, upload temporary files) and the corpus's.
    # (pytest's base temporary folder is shared with other runs on this machine.)
    everything = (tmp_path, next(iter(corpus.values())).parent)
    escapes = [
        (media / "../../../escape-corpus.txt").resolve(),
        (media / "../../../../escape-corpus.csv").resolve(),
        Path("/tmp/escape-corpus.txt"),
        Path.cwd().parent / "escape-corpus.txt",
    ]
    escapes_before = {p: p.exists() for p in escapes}
    before = files_under(*everything)
    rows_before = (StoredFile.objects.count(), Measurement.objects.count())

    # Warm up each path (URL resolvers, serializers and modules load on first use), untraced.
    for where in ("create", "attach", "inspect"):
        post_case(CORPUS[-1], corpus[CORPUS[-1].label], where, lab=lab, token=token)
    refused, attempts, peaks, wrong = 0, 0, [], []
    for case in CORPUS:
        for where in ("create", "attach", "inspect"):
            attempts += 1
            with override_settings(**case.settings), traced() as memory:
                status, message = post_case(case, corpus[case.label], where, lab=lab, token=token)
            peaks.append((memory.peak, case.label, where))
            expected = case.says or "LIMS_UPLOAD_MAX_MB"
            if 400 <= status < 500:
                refused += 1
            if status != case.status or expected not in message:
                wrong.append(f"{case.label} via {where}: {status} {message!r}")
    written = files_under(*everything) - before
    peak, peak_case, peak_where = max(peaks)
    figure = (
        f"{refused} of {attempts} malicious uploads refused with 4xx ({len(CORPUS)} files × "
        f"create, attach, inspect); {len(written)} files written anywhere, "
        f"{len([p for p in written if not p.is_relative_to(media)])} outside the media root; "
        f"peak traced memory {peak / MIB:.1f} MiB ({peak_case}, {peak_where})"
    )
    print(figure)
    assert refused == attempts, figure
    assert not wrong, "\n".join(wrong)
    assert not written, f"{figure}: {sorted(map(str, written))}"
    assert {p: p.exists() for p in escapes} == escapes_before
    assert (StoredFile.objects.count(), Measurement.objects.count()) == rows_before
    assert not any(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()), "temporary uploads left"
    lab.measurement.refresh_from_db()
    assert lab.measurement.raw_file_id is None
    assert peak < MEMORY_BOUND, figure


def test_real_instrument_files_and_workbooks_pass_the_gate_as_the_readers_see_them(
    tmp_path: Path,
) -> None:
    files = sorted(
        p
        for folder in ("eclab", "eis")
        for p in require_shared_data(folder).iterdir()
        if p.is_file() and not p.name.startswith("LICENSE")
    )
    files.append(workbook_with(tmp_path / "book.xlsx"))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for i in range(20_000):
        sheet.append([i, 1.0, "indent"])  # the most repetitive sheet openpyxl writes
    book.save(tmp_path / "long.xlsx")
    files.append(tmp_path / "long.xlsx")
    kinds: dict[str, int] = {}
    refused = []
    for path in files:
        with path.open("rb") as stream:
            try:
                checked = upload_check(stream=stream, name=path.name)
            except UploadRefused as exc:
                refused.append(exc.message)
                continue
            found = detect_format(stream, path.name)
        kinds[checked.kind] = kinds.get(checked.kind, 0) + 1
        assert found == checked.kind or (checked.kind == "text" and found not in KIND_FORMATS)
        assert checked.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert checked.size_bytes == path.stat().st_size
    figure = f"{len(files) - len(refused)} of {len(files)} real files accepted ({kinds})"
    print(figure)
    assert not refused, f"{figure}: {refused}"
    assert kinds["eclab-mpr"] >= 9 and kinds["text"] >= 15 and kinds["xlsx"] == 2, figure


#: Reader formats that are not text (a text file is any of the others).
KIND_FORMATS = ("eclab-mpr", "xlsx")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../../etc/passwd", "passwd"),
        ("..\\..\\spectrum.csv", "spectrum.csv"),
        ("C:\\Users\\lab\\Desktop\\cell 7.mpt", "cell 7.mpt"),
        (".htaccess", "htaccess"),
        ("spec\u202etxt.exe", "spectxt.exe"),
        ("a\x00b.csv", "ab.csv"),
        ("..", "upload"),
        ("", "upload"),
    ],
)
def test_client_names_are_metadata_only(sent: str, kept: str) -> None:
    assert client_name(sent) == kept


def test_a_file_is_stored_under_its_checksum_typed_by_its_bytes_whatever_the_client_says(
    users: Any, lab: Any, server: Path, settings: Any, client: Any, tmp_path: Path
) -> None:
    media = Path(settings.MEDIA_ROOT)
    content = spectrum_csv()
    upload = tmp_path / "upload.csv"
    upload.write_bytes(content)
    status, body = stream_post(
        "/api/measurements/",
        token=token_of(users["operator"]),
        path=upload,
        filename="../../../../escape\u202etxt.html",
        content_type="text/html",
        fields={"subject": lab.cell.code, "measurement_type": "eis"},
    )
    assert status == 201, body
    sha = hashlib.sha256(content).hexdigest()
    stored = StoredFile.objects.get(sha256=sha)
    assert stored.file.name == f"raw/{sha[:2]}/{sha}"
    assert stored.original_name == "escapetxt.html"  # shown, never used as a path
    assert stored.content_type == "text/plain"  # sniffed, not the client's text/html
    assert files_under(tmp_path) - {upload} == {media / stored.file.name}
    client.force_login(users["auditor"])
    download = client.get(body["raw_file"]["download_url"])
    assert download["Content-Type"] == "text/plain"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == content


def test_a_measurement_takes_only_files_its_analysis_reads(api: Any, lab: Any) -> None:
    client = api("operator")
    mpt = b"EC-Lab ASCII FILE\nNb header lines : 3\n\nfreq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\n1\t2\t3\n"
    refused = client.post(
        "/api/measurements/",
        {
            "subject": lab.foil.code,
            "measurement_type": "hardness",
            "upload": SimpleUploadedFile("indents.csv", mpt),
        },
        format="multipart",
    )
    assert refused.status_code == 415
    assert refused.json()["upload"] == [
        "indents.csv: a eclab-mpt file; a hardness measurement's analysis reads text or xlsx files."
    ]
    assert not StoredFile.objects.exists()
    table = b"Indent,Fmax [mN],hmax [um]\n1,15.0,2.1\n2,14.8,2.0\n"
    accepted = client.post(
        "/api/measurements/",
        {
            "subject": lab.foil.code,
            "measurement_type": "hardness",
            "upload": SimpleUploadedFile("indents.csv", table),
        },
        format="multipart",
    )
    assert accepted.status_code == 201, accepted.json()


def test_a_file_whose_measurement_is_rolled_back_is_deleted_from_storage(
    api: Any, users: Any, lab: Any, server: Path, settings: Any
) -> None:
    media = Path(settings.MEDIA_ROOT)
    retired = measurement_create(user=users["scientist"], subject=lab.cell, measurement_type="eis")
    record_delete(instance=retired, user=users["scientist"])
    # The serializer sees no record with the code; the service refuses the retired code after
    # the file was written to storage, and the transaction rolls the file's row back.
    response = api("scientist").post(
        "/api/measurements/",
        {
            "code": retired.code,
            "subject": lab.cell.code,
            "measurement_type": "eis",
            "upload": SimpleUploadedFile("s.csv", spectrum_csv()),
        },
        format="multipart",
    )
    assert response.status_code == 400 and retired.code in str(response.json())
    assert not StoredFile.objects.exists()
    assert files_under(media) == set(), "the rolled-back file was left in storage"
    # The same through the service, outside a request: the caller discards the orphans.
    with pytest.raises(Exception, match=retired.code):
        measurement_create(
            user=users["scientist"],
            code=retired.code,
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=io.BytesIO(spectrum_csv(41)),
            raw_name="t.csv",
        )
    assert len(files_under(media)) == 1
    assert len(stored_files_discard_orphans()) == 1 and files_under(media) == set()


def test_an_idempotent_upload_over_the_memory_limit_is_stored_once_without_reading_it_whole(
    users: Any, lab: Any, server: Path, settings: Any, tmp_path: Path
) -> None:
    big = tmp_path / "long.csv"
    with big.open("wb") as out:
        out.write(b"freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n")
        while out.tell() < settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 2 * MIB:
            out.write(b"1000.0,100.0,5.0\n" * 10_000)
    token, key = token_of(users["operator"]), str(uuid.uuid4())
    fields = {"subject": lab.cell.code, "measurement_type": "eis"}
    answers = []
    for _ in range(2):  # a retry: the same file, a new multipart boundary
        with traced() as memory:
            answers.append(
                stream_post(
                    "/api/measurements/",
                    token=token,
                    path=big,
                    filename="long.csv",
                    fields=fields,
                    headers={"Idempotency-Key": key},
                )
            )
        assert memory.peak < MEMORY_BOUND, f"{memory.peak / MIB:.1f} MiB"
    (first, body), (again, replay) = answers
    assert (first, again) == (201, 201), body
    assert replay["code"] == body["code"]
    assert Measurement.objects.filter(raw_file__isnull=False).count() == 1
    other = tmp_path / "other.csv"
    other.write_bytes(spectrum_csv())
    status, refused = stream_post(
        "/api/measurements/",
        token=token,
        path=other,
        filename="long.csv",
        fields=fields,
        headers={"Idempotency-Key": key},
    )
    assert status == 422 and "different request" in refused["detail"]


class _Unread(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read")


@pytest.mark.parametrize(
    ("content_type", "setting"),
    [
        ("multipart/form-data; boundary=x", "LIMS_UPLOAD_MAX_MB"),
        ("application/json", "DATA_UPLOAD_MAX_MEMORY_SIZE"),
    ],
)
def test_an_oversized_body_is_refused_from_its_length_before_it_is_read(
    users: Any, content_type: str, setting: str
) -> None:
    environ = RequestFactory()._base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO="/api/measurements/",
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(2**40),
        HTTP_AUTHORIZATION=f"Token {token_of(users['operator'])}",
    )
    environ["wsgi.input"] = _Unread()
    response = ClientHandler()(environ)
    detail = json.loads(response.content)["detail"]
    assert response.status_code == 413
    assert "The request body is 1,099,511,627,776 bytes" in detail and setting in detail

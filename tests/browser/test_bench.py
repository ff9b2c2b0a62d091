"""The glovebox tablet in a real Chromium: gloved taps, offline entries, nothing lost or doubled.

Every test starts from the demo lab (``seed_demo``) and saves a screenshot of each screen under
``var/screenshots/bench/``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import segno
from django.core.management import call_command
from django.utils import timezone

from demo.management.commands.seed_demo import DEMO_PASSWORD
from glovebox.models import BenchEntry
from lims.models import IdempotencyKey
from processing.models import Equipment, MetalFoil
from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

PORTRAIT = {"viewport": {"width": 800, "height": 1280}, "has_touch": True}
LANDSCAPE = {"viewport": {"width": 1280, "height": 800}, "has_touch": True}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
MIN_CONTROL_PX = 64  # tall and wide: a thumb in a thick butyl glove
MIN_GAP_PX = 16  # between two controls, so a gloved tap never lands on the neighbour

# Every visible control's box, and the smallest gap to any other control.
MEASURE_CONTROLS = """() => {
  const boxes = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]
    .filter((el) => el.offsetParent !== null)
    .map((el) => ({ html: el.outerHTML.slice(0, 70), r: el.getBoundingClientRect() }));
  return boxes.map((a) => {
    const gaps = boxes.filter((b) => b !== a).map((b) => Math.max(
      b.r.left - a.r.right, a.r.left - b.r.right, b.r.top - a.r.bottom, a.r.top - b.r.bottom));
    return { html: a.html, width: a.r.width, height: a.r.height, gap: Math.min(...gaps, 1e9) };
  });
}"""


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory: Any) -> Path:
    """What the fake camera films: written by ``show_to_camera`` before the camera opens."""
    return Path(tmp_path_factory.mktemp("camera")) / "camera.y4m"


@pytest.fixture(scope="module")
def chromium_args(camera_file: Path) -> list[str]:
    # Chromium's fake camera plays a Y4M file; it opens the file when a page starts the camera,
    # so each test writes its own. A page without the camera permission still has no camera.
    return [
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera_file}",
    ]


def show_to_camera(
    camera_file: Path, text: str | None, *, width: int = 640, height: int = 480
) -> None:
    """Film a label: ``text`` as a QR code (segno), black on a white card, in a Y4M video (a
    blank card for None)."""
    qr = segno.make_qr(text or " ")
    modules = np.array([[bool(m) and text is not None for m in row] for row in qr.matrix_iter()])
    scale = min(width, height) * 8 // 10 // len(modules)
    label = np.kron(modules, np.ones((scale, scale), dtype=bool))
    luma = np.full((height, width), 235, np.uint8)  # white card; 16 is black (video range)
    top, left = (height - label.shape[0]) // 2, (width - label.shape[1]) // 2
    luma[top : top + label.shape[0], left : left + label.shape[1]][label] = 16
    chroma = np.full((height // 2, width // 2), 128, np.uint8).tobytes()  # no colour
    frame = b"FRAME\n" + luma.tobytes() + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    camera_file.write_bytes(header + frame * 3)


@pytest.fixture
def demo(transactional_db: Any) -> None:
    call_command("seed_demo", stdout=StringIO())


@pytest.fixture
def bench(new_page: Any, demo: None) -> Callable[..., Any]:
    """``bench(viewport, user)``: a tablet page signed in at /bench/."""

    def open_bench(options: dict[str, Any] = PORTRAIT, username: str = "operator") -> Any:
        page = new_page(**options)
        page.goto("/bench/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/bench/")
        return page

    return open_bench


def shot(page: Any, name: str) -> None:
    # A full-page picture from the top, else the sticky header is drawn over the middle.
    page.evaluate("() => window.scrollTo(0, 0)")
    (SCREENSHOTS / "bench").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "bench" / f"{name}.png", full_page=True)


def assert_glove_sized(page: Any) -> None:
    # From the top: scrolled, the sticky header lies over the content, not beside it.
    page.evaluate("() => window.scrollTo(0, 0)")
    controls = page.evaluate(MEASURE_CONTROLS)
    assert controls, "no controls on the page"
    small = [c for c in controls if min(c["width"], c["height"]) < MIN_CONTROL_PX]
    assert not small, f"controls under {MIN_CONTROL_PX} px: {small}"
    close = [c for c in controls if c["gap"] < MIN_GAP_PX]
    assert not close, f"controls closer than {MIN_GAP_PX} px: {close}"
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def foil_in_progress() -> MetalFoil:
    return MetalFoil.objects.get(notes="Being folded at the glovebox")


def open_code(page: Any, code: str) -> None:
    page.get_by_label("Scan or type a code").fill(code)
    page.get_by_role("button", name="Open").tap()
    page.wait_for_url(f"**/bench/r/{code}/")


def wait_until_sent(page: Any) -> None:
    page.get_by_text("0 waiting", exact=True).wait_for()


def kept_for_offline(page: Any) -> None:
    """Wait until the service worker controls the page and keeps a copy of it, as after any
    online visit."""
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.evaluate(
        "async () => { while (!(await caches.match(location.href)))"
        " await new Promise(r => setTimeout(r, 100)); }"
    )


def back_online(page: Any) -> None:
    page.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")


def test_twenty_passes_at_portrait_reach_the_protocol_target(bench: Any) -> None:
    page = bench(PORTRAIT)
    foil = foil_in_progress()
    assert_glove_sized(page)
    shot(page, "home-portrait")
    open_code(page, foil.code)
    assert page.locator("#pass-count").inner_text() == "0"
    assert page.locator(".counter").inner_text().startswith("0 / 20 passes")
    thickness = page.get_by_label("Thickness after the pass")
    assert thickness.get_attribute("inputmode") == "decimal"
    assert thickness.input_value() == "100"  # pre-filled with the foil's target
    assert_glove_sized(page)
    shot(page, "foil-portrait")

    plus_one = page.get_by_role("button", name="+1 pass")
    for n in range(1, 21):
        thickness.fill(str(100 + n % 3))
        plus_one.tap()
        page.locator("#pass-count", has_text=re.compile(f"^{n}$")).wait_for()
    wait_until_sent(page)
    assert page.get_by_text("target reached").is_visible()
    shot(page, "foil-target-reached")
    assert_glove_sized(page)  # the Undo button appeared

    passes = list(foil.passes.order_by("pass_number"))
    assert [p.pass_number for p in passes] == list(range(1, 21))
    assert [p.thickness_after_um for p in passes] == [100 + n % 3 for n in range(1, 21)]
    assert {p.operator.username for p in passes if p.operator} == {"operator"}
    assert BenchEntry.objects.filter(record_code=foil.code, action="fold_pass").count() == 20


def test_bad_input_is_explained_next_to_the_field_and_nothing_is_sent(bench: Any) -> None:
    page = bench(PORTRAIT)
    foil = foil_in_progress()
    page.get_by_label("Scan or type a code").fill("FOIL-9999")
    page.get_by_role("button", name="Open").tap()
    alert = page.get_by_role("alert")
    assert "No record has the code “FOIL-9999”" in alert.inner_text()
    shot(page, "find-unknown-code")

    open_code(page, foil.code)
    thickness = page.get_by_label("Thickness after the pass")
    for typed, message in (
        ("0", "must be more than 0"),
        ("-4", "must be more than 0"),
        ("abc", "must be a number"),
    ):
        thickness.fill(typed)
        page.get_by_role("button", name="+1 pass").tap()
        assert message in page.locator("#thickness_after_um-error").inner_text()
    assert thickness.get_attribute("aria-invalid") == "true"
    assert page.locator("#thickness_after_um-error").inner_text() == (
        "The thickness after the pass must be a number, like 98.5."
    )
    shot(page, "foil-bad-thickness")
    thickness.fill("130")  # 30 % above the target: a warning, not a refusal
    flag = page.locator("#thickness_after_um-flag").inner_text()
    assert flag == "130 is above 120 µm (target 100 µm + 20 %): check it before saving."
    shot(page, "foil-flagged-thickness")
    assert page.get_by_text("0 waiting", exact=True).is_visible()
    assert not foil.passes.exists()


def test_offline_passes_survive_a_reload_and_arrive_once_with_their_times(bench: Any) -> None:
    page = bench(PORTRAIT)
    foil = foil_in_progress()
    open_code(page, foil.code)
    # The service worker controls the page and has it cached, as after any online visit.
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function(
        "() => navigator.serviceWorker.controller !== null"
        " && caches.match(location.href).then(Boolean)"
    )
    page.evaluate(
        "async () => { while (!(await caches.match(location.href)))"
        " await new Promise(r => setTimeout(r, 100)); }"
    )

    page.context.set_offline(True)
    tapped_from = timezone.now()
    for _ in range(3):
        page.get_by_role("button", name="+1 pass").tap()
    page.get_by_text("3 waiting", exact=True).wait_for()
    tapped_until = timezone.now()
    assert page.locator("#net").inner_text() == "offline"

    page.reload()  # offline: the service worker serves the page, the outbox is in IndexedDB
    page.get_by_text("3 waiting", exact=True).wait_for()
    assert page.locator("#pass-count").inner_text() == "3"
    assert page.locator(".waiting-entry").count() == 3
    shot(page, "foil-offline-3-waiting")
    assert not foil.passes.exists()

    back_online(page)
    wait_until_sent(page)
    passes = list(foil.passes.order_by("pass_number"))
    assert [p.pass_number for p in passes] == [1, 2, 3]
    slack = dt.timedelta(seconds=2)  # the browser's clock vs the test's, same machine
    for p in passes:
        assert tapped_from - slack <= p.performed_at <= tapped_until + slack
    entries = BenchEntry.objects.filter(record_code=foil.code)
    assert entries.count() == 3
    assert all(e.server_time >= tapped_until for e in entries)
    assert not any(e.clock_flagged for e in entries)
    shot(page, "foil-back-online")


def test_responses_lost_after_the_server_stored_them_make_no_duplicate(bench: Any) -> None:
    page = bench(PORTRAIT)
    foil = foil_in_progress()
    open_code(page, foil.code)
    stored_then_lost: list[int] = []

    def store_then_drop(route: Any) -> None:
        response = route.fetch()  # the server stores the pass ...
        stored_then_lost.append(response.status)
        route.abort()  # ... and the tablet never hears back

    page.route("**/passes/", store_then_drop)
    page.get_by_role("button", name="+1 pass").tap()
    page.get_by_role("button", name="+1 pass").tap()
    page.wait_for_function("() => document.getElementById('net').textContent === 'offline'")
    # The outbox retries the first entry with its key: the server answers with the first response.
    page.wait_for_function("() => document.getElementById('waiting').textContent === '2 waiting'")
    while len(stored_then_lost) < 2:
        page.wait_for_timeout(250)
    assert stored_then_lost[:2] == [201, 201]
    assert foil.passes.count() == 1

    page.unroute("**/passes/")
    wait_until_sent(page)
    assert list(foil.passes.values_list("pass_number", flat=True)) == [1, 2]
    assert IdempotencyKey.objects.filter(user__username="operator").count() == 2
    assert page.locator("#pass-count").inner_text() == "2"


def test_a_glovebox_reading_over_the_limit_is_flagged_before_saving(bench: Any) -> None:
    page = bench(LANDSCAPE)
    glovebox = Equipment.objects.get(equipment_type="glovebox")
    open_code(page, glovebox.code)
    assert_glove_sized(page)
    page.get_by_label("O2").fill("0.4")
    assert "above the 0.1 ppm limit" in page.locator("#o2_ppm-flag").inner_text()
    page.get_by_label("H2O").fill("0,05")  # a comma is a decimal point too
    shot(page, "glovebox-reading-flagged")
    page.get_by_role("button", name="Save reading").tap()
    saved = page.locator("#reading-result")
    saved.wait_for()
    assert "O2 0.4 ppm, H2O 0.05 ppm" in saved.inner_text()
    shot(page, "glovebox-reading-saved")
    page.reload()
    assert "above the 0.1 ppm limit" in page.get_by_role("alert").first.inner_text()
    reading = glovebox.readings.order_by("-measured_at").first()
    assert reading is not None and (reading.o2_ppm, reading.h2o_ppm) == (0.4, 0.05)
    shot(page, "glovebox-after-reading")


@pytest.mark.parametrize("name, options", [("landscape", LANDSCAPE), ("phone", PHONE)])
def test_find_and_recent_at_every_size(bench: Any, name: str, options: Any) -> None:
    page = bench(options)
    foil = foil_in_progress()
    open_code(page, foil.code)
    assert_glove_sized(page)
    shot(page, f"foil-{name}")
    page.get_by_role("link", name="Bench").tap()
    page.wait_for_url("**/bench/")
    recent = page.get_by_role("navigation", name="Recent records")
    recent.get_by_role("link", name=re.compile(foil.code)).tap()
    page.wait_for_url(f"**/bench/r/{foil.code}/")
    page.get_by_role("link", name="Bench").tap()
    page.wait_for_url("**/bench/")
    page.get_by_role("navigation", name="Recent records").wait_for()
    assert_glove_sized(page)
    shot(page, f"home-{name}")


def test_a_label_qr_code_decodes_with_the_local_fallback_decoder(bench: Any) -> None:
    page = bench(PORTRAIT)
    foil = foil_in_progress()
    # Headless Chromium has no camera and no BarcodeDetector: decode the record page's own QR
    # label with the pinned jsQR, as the camera loop does frame by frame.
    decoded = page.evaluate(
        """async (url) => {
          const html = await (await fetch(url)).text();
          const svg = new DOMParser().parseFromString(html, 'text/html').querySelector('svg.segno');
          svg.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
          svg.setAttribute('width', '400');
          svg.setAttribute('height', '400');
          const image = new Image();
          image.src = 'data:image/svg+xml,' + encodeURIComponent(svg.outerHTML);
          await image.decode();
          const canvas = document.createElement('canvas');
          canvas.width = canvas.height = 400;
          const ctx = canvas.getContext('2d');
          ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, 400, 400);
          ctx.drawImage(image, 0, 0, 400, 400);
          return window.benchScan.decodeCanvas(canvas);
        }""",
        f"/r/{foil.code}/",
    )
    assert decoded == foil.code
    page.get_by_role("button", name="Scan a label with the camera").tap()
    page.locator("#scan-status", has_text="No camera here").wait_for()
    assert_glove_sized(page)
    shot(page, "scan-no-camera")


def cell_in_assembly() -> Any:
    """A cell just assembled from the demo's parts, its steps still to do."""
    from django.contrib.auth import get_user_model

    from cells.services import cell_assemble
    from processing.models import Separator
    from processing.services import electrode_cut

    op = get_user_model().objects.get(username="operator")
    foil = MetalFoil.objects.filter(passes__isnull=False).distinct().first()
    assert foil is not None
    pieces = [electrode_cut(user=op, foil=foil, diameter_mm=6) for _ in range(2)]
    return cell_assemble(
        user=op,
        separator=Separator.objects.filter(cell__isnull=True).first(),
        electrode_1=pieces[0],
        electrode_2=pieces[1],
        glovebox=Equipment.objects.get(equipment_type="glovebox"),
    )


def test_melt_quench_counts_down_the_hold_and_records_start_lift_off_and_quench(
    bench: Any,
) -> None:
    cell = cell_in_assembly()
    page = bench(PORTRAIT)
    # The tablet's clock starts 310 s in the past so that fast-forwarding the 300 s hold leaves
    # it in step with the server's.
    started = timezone.now() - dt.timedelta(seconds=310)
    page.clock.install(time=started)
    open_code(page, cell.code)
    assert_glove_sized(page)
    shot(page, "cell-steps")
    page.get_by_role("link", name="Melt-quench with timer").tap()
    page.wait_for_url(f"**/bench/r/{cell.code}/melt-quench/")
    assert page.get_by_label("Setpoint").input_value() == "300"  # from the protocol template
    assert page.locator("#countdown").inner_text() == "5:00"
    page.get_by_label("Measured temperature").fill("335")
    assert "above the protocol's 320 °C" in page.locator("#measured_C-flag").inner_text()
    page.get_by_label("Measured temperature").fill("297")
    assert_glove_sized(page)
    shot(page, "melt-before-start")

    page.get_by_role("button", name="Start hold").tap()
    page.clock.fast_forward(120_000)
    page.locator("#countdown", has_text=re.compile(r"^[23]:\d\d$")).wait_for()
    assert page.locator("#melt-phase").inner_text() == "Holding…"
    shot(page, "melt-counting-down")
    page.reload()  # the running hold survives a reload
    page.clock.fast_forward(180_000)
    page.get_by_text("Hold time reached: lift off now.").wait_for()
    shot(page, "melt-hold-reached")
    page.get_by_role("button", name="Lift off").tap()
    page.clock.fast_forward(4_000)
    page.get_by_role("button", name="Quenched").tap()
    assert_glove_sized(page)
    shot(page, "melt-ready-to-save")
    page.get_by_role("button", name="Save melt-quench").tap()
    page.locator("#melt-result", has_text="Saved melt-quench").wait_for()
    wait_until_sent(page)
    shot(page, "melt-saved")

    step = cell.assembly_steps.get(step_type="melt_quench")
    assert step.hold_time_s == pytest.approx(300, abs=2)
    assert step.time_to_quench_s == pytest.approx(4, abs=1)
    assert (step.setpoint_C, step.measured_C) == (300, 297)
    assert step.quench_surface == "steel plate at room temperature"
    assert step.protocol is not None and step.flags == []
    assert abs(step.performed_at - started) < dt.timedelta(seconds=30)
    assert "Hold start" in step.notes and "quenched" in step.notes
    assert step.glovebox_reading is not None  # the glovebox's latest reading
    entry = BenchEntry.objects.get(record_code=cell.code, action="melt_quench")
    assert not entry.clock_flagged


def test_pin_switch_on_a_registered_tablet_and_the_lock_out(bench: Any) -> None:
    page = bench(PORTRAIT, username="admin")
    page.get_by_role("link", name="Switch user").tap()
    page.wait_for_url("**/bench/switch/")
    assert "This tablet is not registered" in page.get_by_role("alert").first.inner_text()
    page.get_by_role("link", name="Register this tablet").tap()
    page.get_by_label("Name of the tablet").fill("Glovebox 1 tablet")
    page.get_by_role("button", name="Register").tap()
    page.wait_for_url("**/bench/switch/")
    assert_glove_sized(page)
    shot(page, "switch-user")

    def enter_pin(username: str, pin: str) -> None:
        page.get_by_role("navigation", name="Operators").get_by_role(
            "link", name=re.compile(f"^{username}")
        ).tap()
        page.wait_for_url(f"**/bench/switch/{username}/")
        for digit in pin:
            page.get_by_role("group", name="PIN keypad").get_by_role(
                "button", name=digit, exact=True
            ).tap()
        page.get_by_role("button", name="OK").tap()

    enter_pin("operator", "2468")
    page.wait_for_url("**/bench/")
    assert page.locator(".who").inner_text() == "operator · Glovebox 1 tablet"

    page.get_by_role("link", name="Switch user").tap()
    for left in (4, 3, 2, 1):
        enter_pin("scientist", "9999")
        assert page.get_by_role("alert").inner_text().startswith(f"Wrong PIN: {left} tr")
        if left == 4:
            assert_glove_sized(page)
            shot(page, "pin-wrong")
        page.get_by_role("link", name="Not scientist").tap()
    enter_pin("scientist", "9999")
    assert "PIN locked until" in page.get_by_role("alert").inner_text()
    page.get_by_role("link", name="Not scientist").tap()
    enter_pin("scientist", "1357")  # the right PIN, but locked
    assert "PIN locked until" in page.get_by_role("alert").inner_text()
    shot(page, "pin-locked")
    page.goto("/bench/")
    assert page.locator(".who").inner_text().startswith("operator")


def test_polish_a_separator_then_build_a_cell_with_the_checklist(bench: Any) -> None:
    from django.contrib.auth import get_user_model

    from cells.models import Cell
    from processing.models import Separator
    from processing.services import electrode_cut

    op = get_user_model().objects.get(username="operator")
    foil = MetalFoil.objects.filter(passes__isnull=False).distinct().first()
    pieces = [electrode_cut(user=op, foil=foil, diameter_mm=6) for _ in range(2)]  # type: ignore[arg-type]
    separator = Separator.objects.filter(cell__isnull=True).order_by("code").first()
    assert separator is not None
    page = bench(LANDSCAPE)
    open_code(page, separator.code)
    page.get_by_label("Last grit").fill("1200")
    page.get_by_label("Thickness after polishing").fill("0")
    page.get_by_role("button", name="Save polishing").tap()
    assert "must be more than 0" in page.locator("#thickness_um-error").inner_text()
    page.get_by_label("Thickness after polishing").fill("640")
    page.get_by_label("the glovebox").check()
    assert_glove_sized(page)
    shot(page, "separator-polishing")
    page.get_by_role("button", name="Save polishing").tap()
    page.locator("#polish-result", has_text="polished to grit 1200 in glovebox").wait_for()
    separator.refresh_from_db()
    assert (separator.thickness_um, separator.polished_in) == (640, "glovebox")

    page.get_by_role("link", name=f"Build a cell on {separator.code}").tap()
    page.wait_for_url("**/bench/assemble/**")
    assert page.get_by_label("Polished separator").input_value() == separator.code
    page.get_by_label("First electrode piece").fill(pieces[0].code)
    page.get_by_label("Second electrode piece").fill(pieces[0].code)  # the same piece twice
    page.get_by_role("button", name="Build the cell").tap()
    error = page.locator("#electrode_2-error")
    error.wait_for()
    assert error.inner_text() == (
        "Not saved: The second piece must be a different piece from the first piece."
    )
    shot(page, "assemble-error")
    page.get_by_label("Second electrode piece").fill(pieces[1].code)
    assert_glove_sized(page)
    shot(page, "assemble-checklist")
    page.get_by_role("button", name="Build the cell").tap()
    page.wait_for_url(re.compile(r"/bench/r/CELL-\d+/$"))
    cell = Cell.objects.get(separator=separator)
    assert page.url.endswith(f"/bench/r/{cell.code}/")
    assert page.locator("li.next").inner_text().startswith("Press the foil pieces")
    page.get_by_role("button", name="Foils pressed onto the separator").tap()
    page.locator("#step-result", has_text="press").wait_for()
    page.reload()
    assert page.locator("li.next").inner_text().startswith("Melt-quench")
    assert_glove_sized(page)
    shot(page, "cell-after-press")
    assert cell.created_by == op and cell.assembly_steps.get().step_type == "press"


def test_weighing_shows_the_deviation_and_flags_it_before_saving(bench: Any) -> None:
    from django.contrib.auth import get_user_model

    from processing.services import batch_create

    batch = batch_create(
        user=get_user_model().objects.get(username="scientist"),
        target_formula="Li6.45Al0.05La3Zr1.6Ta0.4O12",
        batch_size_g=20,
        li_excess_percent=10,
    )
    page = bench(PORTRAIT)
    open_code(page, batch.code)
    la2o3 = page.get_by_role("region", name="La2O3")
    target = float(la2o3.get_by_label("Actual mass of La2O3").get_attribute("data-target"))
    field = la2o3.get_by_label("Actual mass of La2O3")
    field.fill(f"{target * 1.015:.4f}")
    assert "beyond ±1 %" in la2o3.locator('[data-msg="actual_mass_g-deviation"]').inner_text()
    assert_glove_sized(page)
    shot(page, "weighing-flagged")
    field.fill("0")
    la2o3.get_by_role("button", name="Save La2O3").tap()
    assert "must be more than 0" in la2o3.locator('[data-msg="actual_mass_g-error"]').inner_text()
    field.fill(f"{target * 1.015:.4f}")
    la2o3.get_by_role("button", name="Save La2O3").tap()
    la2o3.get_by_text("Saved La2O3").wait_for()
    shot(page, "weighing-saved")
    weighing = batch.weighings.get()
    assert weighing.deviation_percent == pytest.approx(1.5, abs=0.01)
    assert weighing.operator.username == "operator"  # type: ignore[union-attr]


def test_a_cell_built_while_the_network_drops_waits_and_is_built_once_with_its_lineage(
    bench: Any,
) -> None:
    from django.contrib.auth import get_user_model

    from cells.models import Cell
    from processing.models import ChemicalLot, Separator
    from processing.services import electrode_cut

    op = get_user_model().objects.get(username="operator")
    foil = MetalFoil.objects.filter(passes__isnull=False).distinct().first()
    pieces = [electrode_cut(user=op, foil=foil, diameter_mm=6) for _ in range(2)]  # type: ignore[arg-type]
    separator = Separator.objects.filter(cell__isnull=True).order_by("code").first()
    assert separator is not None
    cells_before = Cell.objects.count()
    page = bench(PORTRAIT)
    page.goto(f"/bench/assemble/?separator={separator.code}")
    kept_for_offline(page)

    # A scanner types the code and presses Enter: that moves on to the next part, never builds.
    page.get_by_label("First electrode piece").press_sequentially(pieces[0].code)
    page.get_by_label("First electrode piece").press("Enter")
    assert page.evaluate("() => document.activeElement.name") == "electrode_2"
    page.get_by_label("Second electrode piece").press_sequentially(pieces[1].code)
    page.get_by_label("Second electrode piece").press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "assemble-build"
    assert page.get_by_text("0 waiting", exact=True).is_visible()

    page.context.set_offline(True)  # the Wi-Fi drops just as the last step is done
    tapped = timezone.now()
    page.get_by_role("button", name="Build the cell").tap()
    page.get_by_text("1 waiting", exact=True).wait_for()
    waiting = page.locator("#assemble-waiting")
    assert waiting.inner_text().startswith(
        f"Waiting to send: the cell from {separator.code}, {pieces[0].code} and {pieces[1].code}."
    )
    assert not page.get_by_role("button", name="Build the cell").is_visible()
    assert_glove_sized(page)
    shot(page, "assemble-offline-waiting")

    page.reload()  # offline: the service worker serves the checklist, the entry is in IndexedDB
    page.get_by_text("1 waiting", exact=True).wait_for()
    waiting.wait_for()
    assert page.get_by_label("Second electrode piece").input_value() == pieces[1].code
    assert not page.get_by_role("button", name="Build the cell").is_visible()
    assert not Cell.objects.filter(separator=separator).exists()
    shot(page, "assemble-offline-after-reload")

    back_online(page)
    page.wait_for_url(re.compile(r"/bench/r/CELL-\d+/$"))
    wait_until_sent(page)
    cell = Cell.objects.get(separator=separator)
    assert page.url.endswith(f"/bench/r/{cell.code}/")
    assert Cell.objects.count() == cells_before + 1
    roles = {(link.parent.code, link.role) for link in cell.parent_links.select_related("parent")}
    collectors = ChemicalLot.objects.filter(chemical="Ni").order_by("-created_at").first()
    glovebox = Equipment.objects.get(equipment_type="glovebox")
    assert {
        (separator.code, "separator"),
        (pieces[0].code, "electrode"),
        (pieces[1].code, "electrode"),
        (collectors.code, "current_collector"),  # type: ignore[union-attr]
        (glovebox.code, "glovebox"),
    } <= roles
    entry = BenchEntry.objects.get(action="cell_assemble")
    assert entry.record_code == cell.code and entry.user == op
    slack = dt.timedelta(seconds=2)
    assert tapped - slack <= cell.assembled_at <= entry.server_time  # type: ignore[operator]
    shot(page, "assemble-built-after-reconnect")


def test_offline_the_page_names_the_operator_switched_in_and_their_entries_go_as_them(
    bench: Any,
) -> None:
    foil = foil_in_progress()
    glovebox = Equipment.objects.get(equipment_type="glovebox")
    page = bench(PORTRAIT, username="admin")
    page.get_by_role("link", name="Switch user").tap()
    page.get_by_role("link", name="Register this tablet").tap()
    page.get_by_label("Name of the tablet").fill("Glovebox 1 tablet")
    page.get_by_role("button", name="Register").tap()
    page.wait_for_url("**/bench/switch/")

    def switch_to(username: str, pin: str) -> None:
        page.goto("/bench/switch/")
        page.get_by_role("navigation", name="Operators").get_by_role(
            "link", name=re.compile(f"^{username}")
        ).tap()
        for digit in pin:
            page.get_by_role("group", name="PIN keypad").get_by_role(
                "button", name=digit, exact=True
            ).tap()
        page.get_by_role("button", name="OK").tap()
        page.wait_for_url("**/bench/")
        page.wait_for_function(f"() => document.body.dataset.operator === {username!r}")

    def kept_copy_is_for(url: str) -> str:
        return page.evaluate(
            """async (url) => {
              const html = await (await caches.match(url)).text();
              return new DOMParser().parseFromString(html, 'text/html').body.dataset.user;
            }""",
            url,
        )

    switch_to("operator", "2468")
    foil_url, glovebox_url = f"/bench/r/{foil.code}/", f"/bench/r/{glovebox.code}/"
    for url in (glovebox_url, foil_url):
        page.goto(url)
        kept_for_offline(page)
    assert kept_copy_is_for(foil_url) == "operator"

    # The Wi-Fi is too weak to renew the foil page's copy after the switch.
    def renewal_fails(route: Any) -> None:
        if route.request.headers.get("x-bench-refresh"):
            route.abort()
        else:
            route.continue_()

    page.route(f"**{foil_url}", renewal_fails)
    switch_to("scientist", "1357")
    page.evaluate("() => window.bench.renewed()")
    assert kept_copy_is_for(glovebox_url) == "scientist"  # renewed as the new operator
    assert kept_copy_is_for(foil_url) == "operator"  # kept: the network failed
    page.unroute(f"**{foil_url}")

    page.context.set_offline(True)
    page.goto(foil_url)  # served from the copy rendered for operator
    page.wait_for_function("() => document.body.dataset.operator === 'scientist'")
    assert page.locator(".who").inner_text() == "scientist · Glovebox 1 tablet"
    assert page.evaluate("() => document.body.dataset.user") == "operator"  # the old copy
    page.get_by_role("button", name="+1 pass").tap()
    page.get_by_text("1 waiting", exact=True).wait_for()
    stored = page.evaluate("async () => (await window.bench.waitingEntries()).map(e => e.user)")
    assert stored == ["scientist"]
    shot(page, "foil-offline-after-switch")

    back_online(page)
    wait_until_sent(page)
    fold_pass = foil.passes.get()
    assert fold_pass.operator.username == "scientist"  # type: ignore[union-attr]
    assert BenchEntry.objects.get(action="fold_pass").user.username == "scientist"

    # Signing out leaves nobody in: an old copy served offline names no one.
    page.goto("/bench/switch/")
    page.get_by_role("button", name="Log out scientist").tap()
    page.wait_for_url(re.compile(r"/accounts/login/|/login/"))
    page.context.set_offline(True)
    page.goto(foil_url)
    page.wait_for_function("() => document.body.dataset.operator === ''")
    assert page.locator("#who-name").inner_text() == "nobody signed in"
    page.get_by_role("button", name="+1 pass").tap()
    page.get_by_text("Nobody is signed in on this tablet", exact=False).wait_for()
    assert page.get_by_text("0 waiting", exact=True).is_visible()


def decoder_in_use(page: Any, requested: list[str]) -> str:
    """Which decoder the page really uses in this Chromium, checked against what it loaded."""
    native = page.evaluate("() => 'BarcodeDetector' in window")
    loaded_jsqr = any(url.endswith("/jsQR-1.4.0.js") for url in requested)
    assert loaded_jsqr != native, (native, requested)
    return "BarcodeDetector" if native else "jsQR"


def register_tablet(page: Any) -> None:
    page.get_by_role("link", name="Switch user").tap()
    page.get_by_role("link", name="Register this tablet").tap()
    page.get_by_label("Name of the tablet").fill("Glovebox 1 tablet")
    page.get_by_role("button", name="Register").tap()
    page.wait_for_url("**/bench/switch/")


CAMERA = PORTRAIT | {"permissions": ["camera"]}


def test_a_label_shown_to_the_camera_opens_its_record(bench: Any, camera_file: Path) -> None:
    foil = foil_in_progress()
    page = bench(CAMERA)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    scan = page.get_by_role("button", name="Scan a label with the camera")

    show_to_camera(camera_file, "FOIL-9999")  # a label of nothing we know
    scan.tap()
    page.wait_for_url("**/bench/find/?code=FOIL-9999")
    assert "No record has the code “FOIL-9999”" in page.locator("#code-error").inner_text()
    assert page.get_by_label("Scan or type a code").input_value() == "FOIL-9999"
    shot(page, "scan-unknown-label")

    show_to_camera(camera_file, foil.code)
    page.get_by_role("button", name="Scan a label with the camera").tap()
    page.wait_for_url(f"**/bench/r/{foil.code}/")
    # Headless Chromium on Linux has no BarcodeDetector: the pinned jsQR, served by us, decoded
    # the camera's frames.
    assert decoder_in_use(page, requested) == "jsQR"
    assert all(url.startswith(page.url.split("/bench/")[0]) for url in requested)
    shot(page, "scan-label-opened")


def test_the_camera_view_is_glove_sized_and_stops(bench: Any, camera_file: Path) -> None:
    page = bench(CAMERA)
    show_to_camera(camera_file, None)
    page.get_by_role("button", name="Scan a label with the camera").tap()
    page.get_by_text("Hold the label in front of the camera.").wait_for()
    page.wait_for_function("() => document.getElementById('scan-video').videoWidth > 0")
    assert_glove_sized(page)
    shot(page, "scan-camera-open")
    page.get_by_role("button", name="Stop the camera").tap()
    assert page.get_by_role("button", name="Scan a label with the camera").is_visible()
    assert page.evaluate("() => document.getElementById('scan-video').srcObject.active") is False


def test_a_badge_shown_to_the_camera_switches_the_user(bench: Any, camera_file: Path) -> None:
    from django.contrib.auth import get_user_model

    from glovebox.services import bench_badge_issue

    page = bench(CAMERA, username="admin")
    register_tablet(page)
    badge = bench_badge_issue(user=get_user_model().objects.get(username="operator"))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    show_to_camera(camera_file, "BADGE-not-issued-by-us")
    page.get_by_role("button", name="Scan the badge with the camera").tap()
    page.get_by_text("This badge is not known: ask an admin for a new one.").wait_for()
    assert page.locator(".who").inner_text().startswith("admin")
    assert_glove_sized(page)
    shot(page, "badge-unknown")

    show_to_camera(camera_file, badge)
    page.get_by_role("button", name="Scan the badge with the camera").tap()
    page.wait_for_url("**/bench/")
    assert page.locator(".who").inner_text() == "operator · Glovebox 1 tablet"
    assert decoder_in_use(page, requested) == "jsQR"
    shot(page, "badge-switched")


def test_a_usb_scanner_typing_a_badge_or_a_code(bench: Any) -> None:
    from django.contrib.auth import get_user_model

    from glovebox.services import bench_badge_issue

    foil = foil_in_progress()
    page = bench(PORTRAIT, username="admin")
    register_tablet(page)
    badge = bench_badge_issue(user=get_user_model().objects.get(username="scientist"))
    # A scanner is a keyboard: it types what the label says, fast, then Enter.
    field = page.get_by_label("Badge")
    field.press_sequentially(badge, delay=5)
    field.press("Enter")
    page.wait_for_url("**/bench/")
    assert page.locator(".who").inner_text() == "scientist · Glovebox 1 tablet"

    code = page.get_by_label("Scan or type a code")
    assert page.evaluate("() => document.activeElement.id") == "code"  # ready for the scanner
    code.press_sequentially(foil.code.lower(), delay=5)
    code.press("Enter")
    page.wait_for_url(f"**/bench/r/{foil.code}/")
    shot(page, "scanner-opened-record")


def test_a_pass_sent_after_the_foil_went_into_a_cell_is_refused_in_words(bench: Any) -> None:
    from django.contrib.auth import get_user_model

    from cells.services import cell_assemble
    from processing.models import Separator
    from processing.services import electrode_cut

    foil = foil_in_progress()
    page = bench(PORTRAIT)
    open_code(page, foil.code)
    page.context.set_offline(True)
    page.get_by_role("button", name="+1 pass").tap()
    page.get_by_text("1 waiting", exact=True).wait_for()
    # Meanwhile, at the other glovebox, a cell is built from two pieces of this foil.
    scientist = get_user_model().objects.get(username="scientist")
    pieces = [electrode_cut(user=scientist, foil=foil, diameter_mm=6) for _ in range(2)]
    cell = cell_assemble(
        user=scientist,
        separator=Separator.objects.filter(cell__isnull=True).first(),
        electrode_1=pieces[0],
        electrode_2=pieces[1],
    )
    back_online(page)
    wait_until_sent(page)
    refusal = page.locator("#__all__-error")
    assert refusal.inner_text() == (
        f"Not saved: {foil.code} is already in cell {cell.code}: no more passes."
    )
    assert page.locator("#pass-count").inner_text() == "0"
    assert not foil.passes.exists()
    assert_glove_sized(page)
    shot(page, "foil-pass-refused-in-a-cell")
    page.reload()
    assert page.get_by_role("alert").first.inner_text() == (
        f"{foil.code} is already in cell {cell.code}: no more passes."
    )
    assert not page.get_by_role("button", name="+1 pass").is_visible()


def test_polishing_changed_at_the_desk_meanwhile_shows_both_values_then_saves(
    bench: Any,
) -> None:
    from django.contrib.auth import get_user_model

    from lims.services import record_update
    from processing.models import Separator

    separator = Separator.objects.filter(cell__isnull=True).order_by("code").first()
    assert separator is not None
    page = bench(PORTRAIT)
    open_code(page, separator.code)
    # While the tablet shows the separator, a scientist records it at the desk.
    record_update(
        instance=separator,
        data={"thickness_um": 640, "polish_grit": 2000, "polished_in": "air"},
        user=get_user_model().objects.get(username="scientist"),
    )
    page.get_by_label("Last grit").fill("1200")
    page.get_by_label("Thickness after polishing").fill("655")
    page.get_by_role("button", name="Save polishing").tap()
    conflict = page.locator("#__all__-error")
    conflict.wait_for()
    text = conflict.inner_text()
    assert text.startswith("Not saved: scientist at ")
    assert text.endswith(
        f"changed {separator.code} after this page showed it. Now: 640 µm, grit P2000, in air. "
        "Yours: 655 µm, grit P1200, in the glovebox. Check the separator, then tap Save "
        "polishing again to keep yours."
    )
    separator.refresh_from_db()
    assert (separator.thickness_um, separator.polished_in) == (640, "air")
    assert_glove_sized(page)
    shot(page, "separator-polish-conflict")

    page.get_by_role("button", name="Save polishing").tap()  # having read it: keep mine
    page.locator("#polish-result", has_text="polished to grit 1200 in glovebox").wait_for()
    separator.refresh_from_db()
    assert (separator.thickness_um, separator.polish_grit) == (655, 1200)
    shot(page, "separator-polish-saved-after-conflict")


def test_undo_takes_back_the_pass_just_tapped_even_before_it_was_sent(bench: Any) -> None:
    foil = foil_in_progress()
    page = bench(PORTRAIT)
    open_code(page, foil.code)
    page.get_by_label("Thickness after the pass").fill("101")
    page.get_by_role("button", name="+1 pass").tap()
    page.locator("#pass-list li", has_text="Pass 1 · 101 µm · saved").wait_for()
    wait_until_sent(page)

    page.context.set_offline(True)
    page.get_by_label("Thickness after the pass").fill("99")
    page.get_by_role("button", name="+1 pass").tap()  # a wrong tap ...
    page.get_by_text("1 waiting", exact=True).wait_for()
    page.get_by_role("button", name="Undo the last pass").tap()  # ... taken back at once
    page.get_by_text("2 waiting", exact=True).wait_for()
    assert page.locator("#pass-count").inner_text() == "1"
    assert foil.passes.count() == 1
    shot(page, "foil-undo-waiting")

    back_online(page)
    wait_until_sent(page)
    assert list(foil.passes.values_list("pass_number", "thickness_after_um")) == [(1, 101)]
    undo = BenchEntry.objects.get(action="undo_pass")
    assert undo.summary == "undo pass 2 (99 µm)"
    assert page.locator("#__all__-error").is_hidden()


DESK = {"viewport": {"width": 1400, "height": 900}, "has_touch": True}  # a touch screen at the desk


@pytest.mark.parametrize(
    "name, options", [("desk", DESK), ("portrait", PORTRAIT), ("phone", PHONE)]
)
def test_the_checklist_and_a_foil_at_desk_tablet_and_phone_sizes(
    bench: Any, name: str, options: Any
) -> None:
    from processing.models import Separator

    separator = Separator.objects.filter(cell__isnull=True).order_by("code").first()
    assert separator is not None
    page = bench(options)
    page.goto(f"/bench/assemble/?separator={separator.code}")
    assert page.get_by_label("Polished separator").input_value() == separator.code
    assert_glove_sized(page)
    shot(page, f"assemble-{name}")
    page.goto("/bench/")
    open_code(page, foil_in_progress().code)
    assert_glove_sized(page)
    shot(page, f"foil-size-{name}")

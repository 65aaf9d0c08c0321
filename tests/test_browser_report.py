"""The report in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Checks that the page logs no console errors, that every figure rendered with the number of
traces it was built with (and the key figures with the number expected from the run), that
hovering a point shows the trial's full configuration, that the trial table sorts, and saves a
full-page screenshot to ``test-artifacts/report.png``. Skipped only when no Chromium binary exists
(CI installs Debian's package); Playwright's own browser downloads are never used.

The README's picture, ``docs/assets/report.png``, is the top of a report in the 1300x900 viewport,
made by ``test_readme_screenshot``: it always writes ``test-artifacts/report-top.png``, and copies it
into ``docs/assets/`` when ``CURRICLIP_UPDATE_SCREENSHOT=1``. ``CURRICLIP_SCREENSHOT_RUN=RUN_DIR``
shoots that run's report instead of the test's fake run; the committed picture is the main job's::

    curriclip search
    CURRICLIP_SCREENSHOT_RUN=runs/default CURRICLIP_UPDATE_SCREENSHOT=1 \
        python -m pytest tests/test_browser_report.py -k readme_screenshot
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_reports_sections import make_rich_frames, write_run

from curriclip.reports import build_report

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
README_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "assets" / "report.png"
VIEWPORT = {"width": 1300, "height": 900}


def chromium_binary() -> str | None:
    for cand in (os.environ.get("CURRICLIP_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):  # fmt: skip
        if cand and Path(cand).exists():
            return cand
    return None


CHROMIUM = chromium_binary()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium binary (install Debian's chromium: apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    trials, epochs = make_rich_frames()
    run = write_run(tmp_path_factory.mktemp("browser") / "browser_run", trials, epochs, yaml="name: browser\n")
    return build_report(run), trials


def test_report_renders_in_chromium(report):
    from playwright.sync_api import sync_playwright

    path, trials = report
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.goto(path.as_uri())
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
                ".every(gd => gd._fullLayout && gd.querySelector('.main-svg'))",
                timeout=30_000,
            )
            figs = page.evaluate(
                """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(gd => ({
                    title: (gd.layout.title && gd.layout.title.text) || '',
                    traces: gd.data.length,
                    expected: Number(gd.closest('.figure').dataset.traces),
                    rendered: gd.querySelectorAll('.main-svg').length,
                }))"""
            )
            # every figure rendered, with all the traces it was built with
            assert len(figs) == 16, [f["title"] for f in figs]
            for f in figs:
                assert f["traces"] == f["expected"] > 0 and f["rendered"] >= 1, f
            by_title = {f["title"].split(" (")[0].split(":")[0]: f["traces"] for f in figs}
            # 3 arms: untrained model + 3 × (trials, mean ± CI) + curriculum best
            assert by_title["CLIP score of the search-phase trials vs training-data sparsity"] == 8
            # curriculum and shuffled_control vs single-task
            assert by_title["Difference from single-task over search-phase trials"] == 2
            # clip_score + 3 companion metrics, × 3 arms, + 2 untrained markers
            assert by_title["CLIP score and companion metrics per sparsity level"] == 14
            assert by_title["Task × position in the ordering"] == 3  # one heatmap per level
            assert by_title["Schedule each curriculum trial followed"] == 4  # 3 tasks + data fraction
            assert by_title["Parameter importances"] == 1
            assert by_title["Show your work"] == 6  # single-task and curriculum at 3 levels

            # hovering a trial point (real mouse) shows that trial's full configuration
            box = page.evaluate(
                """() => {
                    const gd = Array.from(document.querySelectorAll('.plotly-graph-div'))
                        .find(g => g.layout.title.text.startsWith('CLIP score of the search-phase'));
                    const i = gd.data.findIndex(t => t.name === 'curriculum trials');
                    const pt = gd.querySelectorAll('.scatterlayer .trace')[i].querySelector('.point');
                    pt.scrollIntoView({block: 'center'});
                    const r = pt.getBoundingClientRect();
                    return {x: r.x + r.width / 2, y: r.y + r.height / 2};
                }"""
            )
            assert page.evaluate("() => document.getElementById('inspector').hidden")
            page.mouse.move(box["x"], box["y"])
            page.wait_for_function("() => !document.getElementById('inspector').hidden", timeout=5_000)
            title = page.inner_text("#insp-title")
            body = page.inner_text("#insp-body")
            tid = title.split()[1]
            row = trials.set_index("trial_id").loc[tid]
            assert row["arm"] == "curriculum" and title == f"trial {tid} ({row['status']})"
            assert f'weighting: "{row["weighting"]}"' in body and f'pacing: "{row["pacing"]}"' in body
            assert "SECRET" not in body

            # the trial table sorts by a numeric column (blanks last)
            page.click("table.trials th:has-text('final CLIP')")
            page.click("table.trials th:has-text('final CLIP')")  # second click: descending
            first = page.evaluate("() => document.querySelector('table.trials tbody tr').dataset.trial")
            done = trials[trials["final_clip_score"].notna()]
            assert first == done.loc[done["final_clip_score"].idxmax(), "trial_id"]

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "report.png"
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 50_000
        finally:
            browser.close()
    assert errors == []


def test_confirmed_answer_renders_in_chromium(tmp_path):
    """A run with answer.json: the forest plot and the show-your-work curves render with all their traces."""
    from playwright.sync_api import sync_playwright
    from test_reports_confirmed import write_protocol_run

    path = build_report(write_protocol_run(tmp_path / "protocol_run"))
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.goto(path.as_uri())
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
                ".every(gd => gd._fullLayout && gd.querySelector('.main-svg'))",
                timeout=30_000,
            )
            traces = page.evaluate(
                """() => Object.fromEntries(Array.from(document.querySelectorAll('.plotly-graph-div')).map(gd =>
                    [gd.layout.title.text.split(' (')[0].split(':')[0], gd.querySelectorAll('.scatterlayer .trace')
                    .length]))"""
            )
            assert traces["Confirmed paired differences"] == 8  # 4 arms x 2 metrics
            assert traces["Show your work"] == 6  # 3 tuned arms x 2 levels
            first = page.evaluate("() => document.querySelector('main section').id")
            assert first == "confirmed"
        finally:
            browser.close()
    assert errors == []


def test_readme_screenshot(report, tmp_path):
    """The top of a report in the 1300x900 viewport, the README's picture (see the module docstring)."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    run = os.environ.get("CURRICLIP_SCREENSHOT_RUN")
    path = build_report(run, tmp_path / "report.html") if run else report[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(path.as_uri())
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
                ".every(gd => gd._fullLayout && gd.querySelector('.main-svg'))",
                timeout=30_000,
            )
            page.evaluate("() => window.scrollTo(0, 0)")
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "report-top.png"
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    with Image.open(shot) as img:
        assert img.size == (VIEWPORT["width"], VIEWPORT["height"])
        if img.getcolors(256) is None:  # more than 256 colours: a palette keeps the committed file small
            img.convert("RGB").quantize(256).save(shot, optimize=True)
    assert 20_000 < shot.stat().st_size < 300_000
    if os.environ.get("CURRICLIP_UPDATE_SCREENSHOT") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_SCREENSHOT)


def test_an_exported_svg_figure_opens_in_chromium(tmp_path):
    """A paper export's SVG (kaleido) is a standalone image: Chromium draws the forest plot's 8 traces from it."""
    from playwright.sync_api import sync_playwright
    from test_reports_confirmed import write_protocol_run

    from curriclip.reports import load_results
    from curriclip.reports.export.figures import report_figures, write_figures

    pytest.importorskip("kaleido", reason="pip install 'curriclip[export]'")
    results = load_results(write_protocol_run(tmp_path / "protocol_run"))
    forest = [f for f in report_figures(results) if f[0].startswith("01_confirmed")]
    svg = [p for p in write_figures(forest, tmp_path) if p.suffix == ".svg"][0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.goto(svg.as_uri())
            drawn = page.evaluate(
                """() => ({root: document.documentElement.tagName, width: document.documentElement.getBBox().width,
                    traces: document.querySelectorAll('.scatterlayer .trace').length,
                    title: document.querySelector('.gtitle').textContent})"""
            )
        finally:
            browser.close()
    assert drawn["root"] == "svg" and drawn["width"] > 100
    assert drawn["traces"] == 8 and drawn["title"].startswith("Confirmed paired differences")

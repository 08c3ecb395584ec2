"""The explorer in a real browser (headless Chromium through Selenium): load each page, change
inputs, read the numbers back and compare them with the Python API, and save screenshots (docs/ui.md's:
``MLSYSIM_UI_SCREENSHOTS=docs/img python -m pytest plugins/mlsysim-ui/tests/test_browser.py``).

Needs the Debian packages ``chromium`` and ``chromium-driver`` and ``pip install selenium``
(``.ci/run`` installs them); without them every test here skips and says why.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from mlsysim_ui.answers import number
from mlsysim_ui.app import running
from mlsysim_ui.site import PAGES

import mlsysim
from mlsysim_uncertainty import banded

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("MLSYSIM_UI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = os.environ.get("MLSYSIM_UI_CHROMEDRIVER") or shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip(
        "no browser: install the Debian packages chromium and chromium-driver "
        "(apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where screenshots go: ``MLSYSIM_UI_SCREENSHOTS`` (``docs/img`` to refresh docs/ui.md's), else a temporary
    folder, so an ordinary test run leaves the tracked images alone."""
    target = os.environ.get("MLSYSIM_UI_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        return Path(target)
    return tmp_path_factory.mktemp("img")


@pytest.fixture(scope="module")
def base():
    with running() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1050",
        "--force-device-scale-factor=1",
        "--disable-gpu",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def snap(driver, path: Path) -> None:
    """A screenshot of the whole page (the window grows to the page's height, up to 2,400 px)."""
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(full + 150, height), 2400))
    driver.execute_script("window.scrollTo(0, 0); window.dispatchEvent(new Event('resize'))")
    time.sleep(0.4)  # plotly re-lays out its charts after a resize
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(width, height)


def needs(*names: str) -> None:
    missing = [n for n in names if n not in mlsysim.solvers()]
    if missing:
        pytest.skip(f"solver plugin(s) not installed: {', '.join(missing)}")


def wait(driver, cond, timeout: float = 20):
    # htmx swaps the answer in while a condition reads it: a stale element is read again, not an error
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(cond)


def cell(driver, field: str, solver: str | None = None):
    scope = f'#answer .block[data-solver="{solver}"] ' if solver else "#answer "
    return driver.find_element(By.CSS_SELECTOR, f'{scope}tr[data-field="{field}"]')


def value(driver, field: str, solver: str | None = None) -> float:
    return float(cell(driver, field, solver).get_attribute("data-value"))


def charts_drawn(driver, scope: str = "#answer") -> int:
    """Charts plotly has drawn (each draws into its own svg)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' .chart')]"
        ".filter(c => c.querySelector('.main-svg')).length",
        scope,
    )


def retype(driver, field: str, text: str) -> None:
    box = driver.find_element(By.ID, f"in-{field}")
    box.send_keys(Keys.CONTROL, "a")  # select and type over it, as a person does (clear() fires a change)
    box.send_keys(text)


def changed(driver, field: str, before: str) -> bool:
    try:
        return cell(driver, field).get_attribute("data-value") != before
    except Exception:  # noqa: BLE001 - the answer is being swapped
        return False


def test_home_lists_every_installed_solver_with_its_distribution(browser, base, shots):
    browser.get(base + "/")
    listed = {r.get_attribute("data-solver"): r.text for r in browser.find_elements(By.CSS_SELECTOR, "tr[data-solver]")}
    for name, spec in mlsysim.solvers().items():
        assert name in listed and spec.distribution in listed[name]
    snap(browser, shots / "ui-home.png")


def test_serving_reads_numbers_back_changes_inputs_and_keeps_state_in_the_url(browser, base, shots):
    needs("ServingModel")
    m, h = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    browser.get(f"{base}/p/serving?model=Llama3_8B&hardware=H100&seq_len=2048")
    wait(browser, lambda d: charts_drawn(d) == 2)
    r = banded(mlsysim.ServingModel, m, h, seq_len=2048)  # a page answers with the band (issue 20)
    itl, (low, high) = r.itl, (b.to(r.itl.units).magnitude for b in r.bands["itl"])
    assert value(browser, "itl") == itl.magnitude
    shown = [td.text for td in cell(browser, "itl").find_elements(By.TAG_NAME, "td")]
    assert shown == ["itl", f"{number(itl.magnitude)} [{number(low)}, {number(high)}]", f"{itl.units:~P}"]
    before = cell(browser, "itl").get_attribute("data-value")
    retype(browser, "batch_size", "16")
    wait(browser, lambda d: changed(d, "itl", before))
    direct = banded(mlsysim.ServingModel, m, h, seq_len=2048, batch_size=16)
    assert value(browser, "itl") == direct.itl.magnitude
    assert value(browser, "ttft") == direct.ttft.magnitude
    wait(browser, lambda d: "batch_size=16" in d.current_url)
    state = parse_qs(urlparse(browser.current_url).query)
    assert state["batch_size"] == ["16"] and state["hardware"] == ["H100"]
    why = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#answer .why li")]
    band = [f"band: {line}" for line in direct.bands.model_error]
    assert why == [*direct.constraint_trace, *band, *(f"note: {n}" for n in direct.notes)]
    hover = browser.find_element(By.CSS_SELECTOR, '#answer .part[data-field="hardware"]').get_attribute("title")
    assert hover == h.source
    snap(browser, shots / "ui-serving.png")
    browser.get(browser.current_url)  # the shared link shows the same answer
    assert value(browser, "itl") == direct.itl.magnitude


def test_search_as_you_type_picks_a_catalog_part_and_shows_its_source(browser, base, shots):
    needs("ServingModel")
    browser.get(f"{base}/p/serving?model=Llama3_8B&hardware=H100&seq_len=2048")
    before = cell(browser, "itl").get_attribute("data-value")
    retype(browser, "hardware", "h20")
    pick = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#sug-hardware .pick[data-key="H200"]'))[0]
    assert pick.get_attribute("title") == mlsysim.Hardware.H200.source
    browser.save_screenshot(str(shots / "ui-search.png"))
    pick.click()
    wait(browser, lambda d: changed(d, "itl", before))
    assert browser.find_element(By.ID, "in-hardware").get_attribute("value") == "H200"
    want = mlsysim.ServingModel().solve(mlsysim.Models.Llama3_8B, mlsysim.Hardware.H200, seq_len=2048).itl.magnitude
    assert value(browser, "itl") == want


def test_bad_input_shows_the_clis_one_line_message_next_to_the_field(browser, base, shots):
    needs("ServingModel")
    browser.get(f"{base}/p/serving?model=Llama3_8B&hardware=H100&seq_len=2048")
    retype(browser, "tp_size", "3")
    err = wait(browser, lambda d: d.find_element(By.ID, "err-tp_size").text or None)
    with pytest.raises(mlsysim.InvalidInputError) as e:
        mlsysim.ServingModel().solve(mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, seq_len=2048, tp_size=3)
    assert err == " ".join(str(e.value).split())
    next_to_field = '.field[data-field="tp_size"] .err'
    assert wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, next_to_field).text == err)
    snap(browser, shots / "ui-error.png")
    retype(browser, "tp_size", "2")
    wait(browser, lambda d: d.find_element(By.ID, "err-tp_size").text == "")


def test_roofline_page_draws_the_workload_on_the_roofline(browser, base, shots):
    needs("SingleNodeModel")
    browser.get(f"{base}/p/roofline")
    wait(browser, lambda d: charts_drawn(d) == 1)
    p = mlsysim.SingleNodeModel().solve(mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, batch_size=64)
    assert value(browser, "latency") == p.latency.magnitude
    assert value(browser, "arithmetic_intensity") == p.arithmetic_intensity.magnitude
    legend = browser.find_element(By.CSS_SELECTOR, "#answer .chart").text
    assert "this workload" in legend and "datasheet roof" in legend
    snap(browser, shots / "ui-roofline.png")


def test_training_page(browser, base, shots):
    needs("DistributedModel")
    browser.get(f"{base}/p/training")
    wait(browser, lambda d: charts_drawn(d) == 2)
    ex = PAGES["training"].example
    d = mlsysim.DistributedModel().solve(
        mlsysim.Models.Llama3_70B,
        mlsysim.Systems.Clusters.Research_256,
        batch_size=256,
        tp_size=8,
        pp_size=4,
        microbatch_count=8,
    )
    assert ex["tp_size"] == "8"
    assert value(browser, "mfu") == d.mfu and value(browser, "step_time") == d.step_time.magnitude
    assert value(browser, "memory_per_gpu") == d.memory_per_gpu.magnitude
    snap(browser, shots / "ui-training.png")


def test_fleet_page(browser, base, shots):
    needs("EconomicsModel", "SustainabilityModel", "ReliabilityModel")
    browser.get(f"{base}/p/fleet?fleet=Research_256&days=30&datacenter=Hyperscale_Typical")
    c, dc = mlsysim.Systems.Clusters.Research_256, mlsysim.Infra.Datacenters.Hyperscale_Typical
    assert value(browser, "tco", "EconomicsModel") == pytest.approx(
        mlsysim.EconomicsModel().solve(c, 30, datacenter=dc).tco.magnitude, rel=1e-12
    )
    assert value(browser, "water_usage", "SustainabilityModel") == pytest.approx(
        mlsysim.SustainabilityModel().solve(c, 30, datacenter=dc).water_usage.magnitude, rel=1e-12
    )
    before = cell(browser, "expected_completion_time").get_attribute("data-value")
    retype(browser, "days", "7")
    wait(browser, lambda d: changed(d, "expected_completion_time", before))
    r = mlsysim.ReliabilityModel().solve(c, job_duration_hours=168)
    assert value(browser, "expected_completion_time", "ReliabilityModel") == pytest.approx(
        r.expected_completion_time.magnitude, rel=1e-12
    )
    assert cell(browser, "expected_completion_time").find_element(By.CSS_SELECTOR, "td:last-child").text == "h"
    snap(browser, shots / "ui-fleet.png")


def test_sweep_page_shows_the_pareto_front(browser, base, shots):
    needs("ServingModel")
    browser.get(f"{base}/p/sweep")
    wait(browser, lambda d: charts_drawn(d) == 1)
    front = browser.find_elements(By.CSS_SELECTOR, "#answer table.sweep tr.front")
    assert len(front) == int(value(browser, "on the Pareto front")) >= 1
    retype(browser, "batch_size", "1,8,64,256")
    wait(browser, lambda d: value(d, "points") == 16)
    snap(browser, shots / "ui-sweep.png")


def test_catalog_search(browser, base, shots):
    browser.get(f"{base}/catalog")
    browser.find_element(By.ID, "q").send_keys("h100")
    keys = "return [...document.querySelectorAll('#rows tr')].map(r => r.dataset.key)"
    wait(browser, lambda d: {"H100", "H100_NVL"} <= set(d.execute_script(keys)) and len(d.execute_script(keys)) < 30)
    row = browser.find_element(By.CSS_SELECTOR, '#rows tr[data-key="H100"]')
    assert row.get_attribute("title") == mlsysim.Hardware.H100.source
    snap(browser, shots / "ui-catalog.png")


def test_generic_page_of_a_third_party_solver(browser, base, shots):
    needs("PowerEfficiencyModel")
    browser.get(f"{base}/p/solver/PowerEfficiencyModel?hardware=B200")
    r = mlsysim.PowerEfficiencyModel().solve(mlsysim.Hardware.B200)
    assert value(browser, "flops_per_watt") == r.flops_per_watt.magnitude
    assert (
        cell(browser, "flops_per_watt").find_element(By.CSS_SELECTOR, "td:last-child").text
        == f"{r.flops_per_watt.units:~P}"
    )
    snap(browser, shots / "ui-solver.png")


def test_download_button_gives_a_page_that_works_offline(browser, base, shots, tmp_path):
    needs("ServingModel")
    browser.get(f"{base}/p/serving?model=Llama3_8B&hardware=H100&seq_len=2048")
    before = cell(browser, "itl").get_attribute("data-value")
    retype(browser, "batch_size", "4")
    wait(browser, lambda d: changed(d, "itl", before))
    href = browser.find_element(By.ID, "export").get_attribute("href")
    assert "batch_size=4" in href
    out = tmp_path / "serving.html"
    with urllib.request.urlopen(href, timeout=30) as r:
        out.write_bytes(r.read())
    browser.get(out.as_uri())  # no server, no network: styles and plotly.js are inside the file
    wait(browser, lambda d: charts_drawn(d, "body") == 2)
    want = (
        mlsysim.ServingModel()
        .solve(mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, seq_len=2048, batch_size=4)
        .itl.magnitude
    )
    assert float(browser.find_element(By.CSS_SELECTOR, 'tr[data-field="itl"]').get_attribute("data-value")) == want
    snap(browser, shots / "ui-report.png")

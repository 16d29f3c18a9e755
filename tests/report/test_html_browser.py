"""The HTML report in a real headless Chromium (Debian's chromium + chromedriver, driven by
selenium): it loads offline with no console errors and no network requests, every histogram
renders, the numbers shown are the JSON's, and clicking a column header sorts the table."""

from __future__ import annotations

import json
import shutil
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from fixsim.report import Report
from fixsim.report._tables import fmt_num

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="fixsim-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-background-networking", "--disable-dev-shm-usage",
              "--disable-extensions", "--no-first-run", "--disable-sync",
              "--disable-component-update", "--window-size=1400,1000",
              f"--user-data-dir={profile}"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(flow, browser, tmp_path_factory):
    report = Report.build(flow["proposal"], flow["rec"], flow["verification"],
                          flow["derived"], current=flow["T"])
    out = tmp_path_factory.mktemp("html")
    paths = report.write(out, ["html", "json"])
    browser.get_log("browser")  # drop anything logged before
    browser.get_log("performance")
    browser.get("file://" + paths["html"])
    return report, browser


def test_loads_without_console_errors_or_network(page):
    report, b = page
    assert b.execute_script("return document.readyState") == "complete"
    logs = [e for e in b.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert logs == []
    urls = []
    for entry in b.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    assert urls, "the performance log recorded no request at all (the page itself)"
    assert all(u.startswith(("file:", "data:")) for u in urls), urls


def test_every_histogram_renders(page):
    report, b = page
    imgs = b.find_elements(By.CSS_SELECTOR, "img.hist")
    assert len(imgs) == len(report.signals)
    for img in imgs:
        assert b.execute_script("return arguments[0].complete && arguments[0].naturalWidth",
                                img) > 0
    errs = b.find_elements(By.CSS_SELECTOR, "img.err")
    assert len(errs) == len(report.signals) + len(report.data["outputs"])
    assert all(b.execute_script("return arguments[0].naturalWidth", i) > 0 for i in errs)


def _column(b, index):
    rows = b.find_elements(By.CSS_SELECTOR, "#signals tbody tr")
    return [r.find_elements(By.TAG_NAME, "td")[index].text for r in rows]


def test_numbers_shown_are_the_json_numbers(page):
    report, b = page
    names = _column(b, 0)
    by_name = {s["name"]: s for s in report.signals}
    assert names == [s["name"] for s in report.signals]
    for col, key in ((2, "sim_min"), (3, "sim_max"), (10, "overflows")):
        assert _column(b, col) == [fmt_num(by_name[n][key]) for n in names]
    assert b.find_element(By.ID, "total-bits").text == str(report.summary["total_bits_proposed"])
    proposed = [c.split("\n")[0] for c in _column(b, 8)]
    assert proposed == [by_name[n]["proposed"]["name"] for n in names]
    # the exact values behind the rounded text (sort keys and tooltips)
    cells = b.find_elements(By.CSS_SELECTOR, "#signals tbody tr td:nth-child(3)")
    assert [float(c.get_attribute("data-v")) for c in cells] == \
        [by_name[n]["sim_min"] for n in names]
    # the page embeds the report's data, machine-readable (error samples left out)
    embedded = b.execute_script(
        "return JSON.parse(document.getElementById('fixsim-report-data').textContent)")
    want = json.loads(report.to_json())
    for s in want["signals"] + want["outputs"]:
        del s["error"]
    assert embedded == want


def test_clicking_a_header_sorts_the_table(page):
    report, b = page
    heads = b.find_elements(By.CSS_SELECTOR, "#signals thead th")
    by_name = {s["name"]: s for s in report.signals}
    def sim_max(n):
        return by_name[n]["sim_max"]

    heads[3].click()  # Sim max, ascending (a stable sort: ties keep their order)
    want = sorted(_column(b, 0), key=sim_max)
    assert _column(b, 0) == want
    assert heads[3].get_attribute("aria-sort") == "ascending"
    heads[3].click()  # descending
    assert _column(b, 0) == sorted(want, key=sim_max, reverse=True)
    assert heads[3].get_attribute("aria-sort") == "descending"
    heads[0].click()  # by name, text order
    assert _column(b, 0) == sorted(by_name, key=str.lower)
    assert heads[3].get_attribute("aria-sort") is None

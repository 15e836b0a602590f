"""The web page in a real browser (headless Chromium driven by Selenium): ask, see the highlighted answer, upload a
file and find it, remove it. Skipped, with the reason, where Chromium or its driver is not installed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.server.conftest import VOLCANO

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium (the test extra)")
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVER = shutil.which("chromedriver")
BROWSER = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
SCREENSHOT = os.environ.get("OPENBOOK_SCREENSHOT")  # where to keep a screenshot of the page (docs/serve.png)

pytestmark = pytest.mark.skipif(
    DRIVER is None or BROWSER is None,
    reason="no Chromium and chromedriver installed (Debian: apt-get install -y chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    flags = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1100,1250")
    for flag in flags:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_ask_upload_find_remove(live, browser, tmp_path):
    wait = WebDriverWait(browser, 120)
    browser.get(live.url + "/")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    assert "12 documents" in browser.find_element(By.ID, "status").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#document-table tbody tr")) == 12

    # ask with the keyboard: the question box has focus, Enter asks
    question = browser.switch_to.active_element
    assert question.get_attribute("id") == "question"
    question.send_keys(VOLCANO, Keys.ENTER)
    mark = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#results .answer mark")))
    assert mark.text == "Olympus Mons"
    first = browser.find_element(By.CSS_SELECTOR, "#results .answer")
    assert first.find_element(By.TAG_NAME, "h3").text == "Olympus Mons"
    assert "Volcanoes" in first.find_element(By.CSS_SELECTOR, ".meta").text
    assert "largest known volcano" in first.find_element(By.CSS_SELECTOR, ".passage").text
    if SCREENSHOT:
        browser.save_screenshot(str(Path(SCREENSHOT)))

    # upload a file through the file input (the drop zone's keyboard way in) and find it
    note = tmp_path / "orchard notes.txt"
    note.write_text("The <b>Pennyworth</b> apple was first grown by Mirela Stanz in 1874.\n")
    browser.find_element(By.ID, "files").send_keys(str(note))
    wait.until(EC.text_to_be_present_in_element((By.ID, "upload-status"), "Indexed 1 document"))
    row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, 'tr[data-id="uploads/orchard notes.txt"]')))
    assert row.find_element(By.TAG_NAME, "td").text == "orchard notes"
    assert "13 documents" in browser.find_element(By.ID, "status").text

    question = browser.find_element(By.ID, "question")
    question.clear()
    question.send_keys("Who first grew the Pennyworth apple?", Keys.ENTER)
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#results .answer mark"), "Mirela Stanz"))
    passage = browser.find_element(By.CSS_SELECTOR, "#results .answer .passage").text
    assert "<b>Pennyworth</b>" in passage, "text from a document must be shown as text, never as HTML"

    # remove it: the row goes, and so do its answers
    row.find_element(By.CSS_SELECTOR, "button.remove").click()
    wait.until(EC.alert_is_present()).accept()
    wait.until(EC.invisibility_of_element_located((By.CSS_SELECTOR, 'tr[data-id="uploads/orchard notes.txt"]')))
    wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "12 documents"))
    question = browser.find_element(By.ID, "question")
    question.send_keys(Keys.ENTER)
    wait.until(lambda d: "Mirela Stanz" not in d.find_element(By.ID, "results").text
               and d.find_elements(By.CSS_SELECTOR, "#results .answer"))


def test_a_bad_upload_shows_its_error(live, browser, tmp_path):
    browser.get(live.url + "/")
    wait = WebDriverWait(browser, 120)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    browser.find_element(By.ID, "files").send_keys(str(binary))
    wait.until(EC.text_to_be_present_in_element((By.ID, "upload-status"), "binary file"))


def test_confidence_not_in_your_documents_filters_and_section(live, browser):
    """The page shows each answer's confidence, "Not in your documents" over the best guess when the top answer
    abstains, the section in the source line, and filters both answers and the document list by metadata."""
    import httpx

    rivers = b"## Nile\n\nThe Nile flows north through eleven countries and reaches the sea at Alexandria.\n"
    with httpx.Client(base_url=live.url, timeout=120) as client:
        assert client.post("/documents", files=[("files", ("rivers.md", rivers, "text/markdown"))]).status_code == 200
    try:
        browser.get(live.url + "/")
        wait = WebDriverWait(browser, 120)
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")

        def ask(question: str, min_confidence: str = "", filters: str = "") -> None:
            for field, value in (("min-confidence", min_confidence), ("filters", filters), ("question", question)):
                box = browser.find_element(By.ID, field)
                box.clear()
                box.send_keys(value)
            browser.execute_script("document.querySelector('#results').replaceChildren()")
            browser.find_element(By.ID, "question").send_keys(Keys.ENTER)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results .answer, #results .notice, .error"))

        ask(VOLCANO)
        first = browser.find_element(By.CSS_SELECTOR, "#results .answer")
        assert re_confidence(first.find_element(By.CSS_SELECTOR, ".confidence").text)
        assert not browser.find_elements(By.ID, "not-found") and not first.find_elements(By.CSS_SELECTOR, ".tag")

        ask(VOLCANO, min_confidence="1")  # nothing is that sure: the best guess is shown under the notice
        assert "Not in your documents" in browser.find_element(By.ID, "not-found").text
        first = browser.find_element(By.CSS_SELECTOR, "#results .answer")
        assert first.find_element(By.CSS_SELECTOR, ".tag").text.lower() == "best guess"
        assert first.find_element(By.CSS_SELECTOR, "mark").text == "Olympus Mons"
        assert re_confidence(first.find_element(By.CSS_SELECTOR, ".confidence").text)

        ask("Where does the Nile reach the sea?", filters="section=Nile")  # a passage's own metadata
        answers = browser.find_elements(By.CSS_SELECTOR, "#results .answer")
        assert answers and all(a.find_element(By.CSS_SELECTOR, ".source").text == "rivers · rivers.md · § Nile"
                               for a in answers)
        assert answers[0].find_element(By.CSS_SELECTOR, "mark").text == "Alexandria"

        ask(VOLCANO, filters="year>=3000")  # no document passes: nothing to read
        assert "pass the filters" in browser.find_element(By.ID, "not-found").text

        ask("What is the source line?", filters="year>>3000")  # a bad filter: its one-line message
        assert "bad filter" in browser.find_element(By.CSS_SELECTOR, "#results .error").text

        box = browser.find_element(By.ID, "document-filter")
        box.send_keys("topic=cooking", Keys.ENTER)
        wait.until(EC.text_to_be_present_in_element((By.ID, "documents-title"), "passing the filter"))
        rows = browser.find_elements(By.CSS_SELECTOR, "#document-table tbody tr")
        assert [r.get_attribute("data-id") for r in rows] == ["bread"]
    finally:
        with httpx.Client(base_url=live.url, timeout=120) as client:
            client.delete("/documents/uploads%2Frivers.md")


def re_confidence(text: str) -> bool:
    import re

    return re.fullmatch(r"confidence \d{1,3}%", text) is not None

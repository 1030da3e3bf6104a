"""The web console in a real headless browser (Debian's chromium through
chromedriver, driven by selenium), against a running Corral server and a
real ZooKeeper client (kazoo):

- the tree shows the nodes a client created, paged;
- an edit made through the page (logged in) is read back by the client;
- a change made by the client appears on the open page without a reload;
- an edit of a node changed meanwhile is refused with BadVersion.

Usage: ui-browser.py ADMIN_URL ZK_HOST:PORT [SCREENSHOT_DIR]
Run it through scripts/ui-browser.sh, which installs what it needs.
"""

import os
import sys
import time

from kazoo.client import KazooClient
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

LIMIT = 20  # seconds any awaited condition may take


def main():
    admin, zk_hosts = sys.argv[1], sys.argv[2]
    shots = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    zk = KazooClient(hosts=zk_hosts)
    zk.start(timeout=LIMIT)
    zk.create("/demo", b'{"service":"ads","replicas":3,"regions":["eu","us"]}')
    tx = zk.transaction()
    for i in range(250):
        tx.create("/demo/worker-%04d" % i, b"w")
    tx.commit()
    zk.create("/demo/config", b"v1")
    zk.create("/demo/session-", b"", ephemeral=True, sequence=True)

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--window-size=1280,1500"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # The live page replaces its view under the test's feet: look again.
    wait = WebDriverWait(driver, LIMIT, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException))
    checks = 0

    def shot(name):
        if shots:
            driver.save_screenshot(os.path.join(shots, name + ".png"))

    def text(css):
        return driver.find_element(By.CSS_SELECTOR, css).text

    try:
        # The tree shows what the client created, a page at a time.
        driver.get(admin + "/ui/node?path=/demo&format=json")
        children = text("#children")
        assert "worker-0000" in children and "worker-0097" in children, children
        assert "worker-0249" not in children, "only the first page"
        assert '"service": "ads"' in text("#data"), text("#data")
        shot("node")
        driver.find_element(By.ID, "next").click()
        wait.until(lambda d: "worker-0150" in text("#children") and "worker-0000" not in text("#children"))
        checks += 1

        # Log in through the form.
        driver.get(admin + "/ui/login")
        driver.find_element(By.ID, "user-field").send_keys("alice")
        driver.find_element(By.ID, "password-field").send_keys("secret")
        shot("login")
        driver.find_element(By.ID, "login-button").click()
        wait.until(lambda d: "logged in as alice" in text("nav"))
        checks += 1

        # An edit through the page is read back by the client.
        driver.get(admin + "/ui/node?path=/demo/config")
        box = driver.find_element(By.ID, "edit-data")
        box.clear()
        box.send_keys("v2 from the browser")
        driver.find_element(By.ID, "save").click()
        wait.until(lambda d: "saved" in text("#done"))
        data, stat = zk.get("/demo/config")
        assert data == b"v2 from the browser", data
        assert stat.version == 1, stat
        checks += 1

        # A client's change appears on the open page without a reload.
        wait.until(lambda d: "live" in text("#live-status"))
        driver.execute_script("window.__sameDocument = 42;")
        zk.set("/demo/config", b"v3 from a client")
        wait.until(lambda d: "v3 from a client" in text("#data"))
        assert driver.execute_script("return window.__sameDocument;") == 42, "page reloaded"
        assert "NodeDataChanged" in text("#changes"), text("#changes")
        shot("node-live")
        checks += 1

        # The edit form still carries the version it was loaded at.
        box = driver.find_element(By.ID, "edit-data")
        box.clear()
        box.send_keys("stale edit")
        driver.find_element(By.ID, "save").click()
        wait.until(lambda d: "BadVersion" in text("#error"))
        assert zk.get("/demo/config")[0] == b"v3 from a client"
        shot("bad-version")
        checks += 1

        # Children coming and going show on the open parent page too.
        driver.get(admin + "/ui/node?path=/demo")
        wait.until(lambda d: "live" in text("#live-status"))
        zk.create("/demo/aaa-new", b"")
        wait.until(lambda d: "aaa-new" in text("#children"))
        checks += 1

        # The other pages.
        zk.exists("/demo/config", watch=lambda event: None)
        for page, needle in (("sessions", "/demo/session-"), ("watches", "/demo/config"),
                             ("members", "standalone")):
            driver.get(admin + "/ui/" + page)
            assert needle in driver.page_source, (page, needle)
            shot(page)
            checks += 1
        # Some load for the charts (longer when taking pictures of them).
        until = time.monotonic() + (20 if shots else 1)
        i = 0
        while time.monotonic() < until:
            zk.set("/demo/config", b"load %d" % i)
            zk.get("/demo/config")
            i += 1
        driver.get(admin + "/ui/charts")
        wait.until(lambda d: len(d.find_elements(By.TAG_NAME, "svg")) == 4)
        shot("charts")
        checks += 1
    except Exception:
        print("failed on", driver.current_url, file=sys.stderr)
        print("browser console:", driver.get_log("browser"), file=sys.stderr)
        raise
    finally:
        driver.quit()
        zk.stop()
    print("web console in chromium: %d checks passed" % checks)


if __name__ == "__main__":
    main()

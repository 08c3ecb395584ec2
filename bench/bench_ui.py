"""The web explorer's speed (``mlsysim ui``, plugin mlsysim-ui): server time per interaction and page loads.

    python bench/bench_ui.py            # server side; page loads too when chromium + selenium are installed

1. Server time of one interaction: the htmx request a changed input sends (``/a/<page>?...``: parse the
   form, solve, render the answer fragment), timed inside the app (median of n requests through uvicorn,
   read from the ``Server-Timing`` header the bench adds) and as the full HTTP round trip seen by the client.
2. Page load in headless Chromium, for each page, on a first visit (empty cache) and a repeat visit (median
   of 5), from navigation start: first contentful paint (the server-rendered numbers are on screen), the
   load event, and the charts drawn (plotly.js is fetched after the load event; drawn = every chart has
   its svg; "charts" equals the load time on pages without charts).
Budgets (issue 22): page load < 1 s locally, interaction < 200 ms of server time.
"""

from __future__ import annotations

import shutil
import statistics
import time
import urllib.request

from mlsysim_ui.app import create_app, running

INTERACTIONS = {
    "roofline (batch 64 -> 128)": "/a/roofline?model=Llama3_8B&hardware=H100&batch_size=128",
    "serving (batch 16)": "/a/serving?model=Llama3_8B&hardware=H100&seq_len=2048&batch_size=16",
    "serving, bad tp_size (error next to the field)": "/a/serving?model=Llama3_8B&hardware=H100&seq_len=2048&tp_size=3",
    "training (70B, 256 GPUs)": "/a/training?model=Llama3_70B&fleet=Research_256&batch_size=256&tp_size=8&pp_size=4"
    "&microbatch_count=8",
    "fleet (3 solvers, 30 days)": "/a/fleet?fleet=Research_256&days=30&datacenter=Hyperscale_Typical",
    "sweep (16 points + Pareto front)": "/a/sweep?solver=ServingModel&model=Llama3_70B&hardware=H100,H200"
    "&seq_len=2048&batch_size=1,8,64,256&tp_size=4,8&x=itl&x_goal=min&y=tokens_per_second&y_goal=max",
    "sweep (2,048 points)": "/a/sweep?solver=ServingModel&model=Llama3_70B&hardware=H100,H200&seq_len=2048"
    "&batch_size=" + ",".join(str(b) for b in range(1, 257)) + "&tp_size=1,2,4,8&x=itl&x_goal=min"
    "&y=tokens_per_second&y_goal=max",
    "catalog search as you type ('h1')": "/suggest?field=hardware&sections=hardware&hardware=h1",
}
PAGES = (
    "/",
    "/catalog",
    "/p/roofline",
    "/p/serving",
    "/p/training",
    "/p/fleet",
    "/p/sweep",
    "/p/solver/PowerEfficiencyModel?hardware=H100",
)


def timed_app():
    """The app with a middleware that reports its own time per request (Server-Timing: app;dur=ms)."""
    app = create_app()

    @app.middleware("http")
    async def server_timing(request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - t0) * 1e3:.3f}"
        return response

    return app


def interactions(base: str, n: int = 30) -> None:
    head = f"interaction (GET, n={n} after 3 warm-up)"
    print(f"{head:48s} {'server ms':>22s} {'round trip ms':>14s}")
    for label, path in INTERACTIONS.items():
        server, trip = [], []
        for i in range(n + 3):
            t0 = time.perf_counter()
            with urllib.request.urlopen(base + path, timeout=60) as r:
                r.read()
                dur = float(r.headers["Server-Timing"].split("dur=")[1])
            if i >= 3:
                trip.append((time.perf_counter() - t0) * 1e3)
                server.append(dur)
        server.sort()
        print(
            f"{label:48s} median {statistics.median(server):6.1f} p90 {server[9 * n // 10]:6.1f} "
            f"{statistics.median(trip):14.1f}"
        )


def page_loads(base: str) -> None:
    chromium, driver_path = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        print("page loads: skipped (pip install selenium)")
        return
    if not (chromium and driver_path):
        print("page loads: skipped (apt-get install chromium chromium-driver)")
        return
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    load = (
        "const t = performance.getEntriesByType('navigation')[0];"
        "const p = performance.getEntriesByName('first-contentful-paint')[0];"
        "const drawn = [...document.querySelectorAll('.chart')].every(c => c.querySelector('.main-svg'));"
        "return p && t.loadEventEnd && drawn ? [p.startTime, t.loadEventEnd, performance.now()] : null;"
    )

    def timings() -> list:
        """(first contentful paint, load event, charts drawn) in ms from navigation start (polled every 5 ms)."""
        for _ in range(2000):
            got = d.execute_script(load)
            if got:
                return got
            time.sleep(0.005)
        raise RuntimeError("the page did not finish")

    head = f"{'first visit: paint, load, charts':>34s} {'repeat: paint, load, charts':>30s}"
    print(f"\n{'page in headless Chromium (ms)':40s} {head}")
    try:
        d.get(base + "/static/app.css")  # start the browser process outside the timings
        for path in PAGES:
            d.execute_cdp_cmd("Network.clearBrowserCache", {})
            d.get(base + path)
            first = timings()
            again = []
            for _ in range(5):
                d.get(base + path)
                again.append(timings())
            rep = [statistics.median(x) for x in zip(*again)]
            print(f"{path:40s} " + " ".join(f"{v:10.0f}" for v in first) + " " + " ".join(f"{v:10.0f}" for v in rep))
    finally:
        d.quit()


def main() -> None:
    with running(app=timed_app()) as base:
        interactions(base)
        page_loads(base)


if __name__ == "__main__":
    main()

"""`make screens`: screenshots of each role's home page and main flow on the demo district, at a phone's (390×844) and
a desktop's (1280×900) width, into docs/screens/ with a README that lists them, so the next engineer sees what users
see. Not a test file (pytest collects it only when named, as `make screens` does): it reuses the tests' servers,
demo seed, live server and Chromium."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize

from tests.browser_helpers import DESKTOP, PASSWORDS, PHONE, STEP_MS, WIDTHS, browser, log_in
from tests.conftest import LiveServer

__all__ = ["browser"]  # a fixture, used by name

SCREENS = Path(__file__).resolve().parents[1] / "docs" / "screens"
# A long page is cut after two phone screens or one desktop screen: the top is what people see first, and whole
# pages would make the folder tens of megabytes.
MAX_HEIGHT = {"phone": 2 * PHONE["height"], "desktop": DESKTOP["height"]}
# JPEG at this quality keeps Chinese text readable at a tenth of a PNG's size.
QUALITY = 60


@dataclass(frozen=True)
class Step:
    """One page of a flow: its file name, what it shows, and how to reach it: a path, or the first link of the
    previous page whose address matches `follow`; `press`, a button on it pressed before the shot (a form that
    starts a run the demo has none of, so the page shows one)."""

    name: str
    shows: str
    path: str | None = None
    follow: str | None = None
    press: str | None = None


# Each role: its demo login (None: a visitor who is not logged in) and the pages of its everyday work, in order.
FLOWS: dict[str, tuple[str | None, list[Step]]] = {
    "anonymous": (
        None,
        [
            Step("front", "front page", path="/"),
            Step("organisations", "the register of social organisations", path="/organisations"),
            Step("organisation", "an organisation's public profile", follow=r"^/organisations/\d+$"),
            Step("notices", "award notices", path="/notices"),
            Step("notice", "an award notice, with the way to object", follow=r"^/notices/\d+$"),
            Step("register", "registering", path="/register"),
            Step("login", "log in", path="/login"),
        ],
    ),
    "committee": (
        "committee.kailu4",
        [
            Step("home", "home: the committee's to-do list", path="/home"),
            Step("needs", "needs of the committee's households", path="/needs"),
            Step("need-new", "recording a need", path="/needs/new"),
            Step("households", "households served", path="/households"),
            Step("household", "a household's file with its visit record", follow=r"^/households/\d+$"),
            Step("attendance", "hours to confirm", path="/attendance"),
            Step("shift-new", "publishing a volunteer shift", path="/shifts/new"),
            Step("incidents", "incidents on home visits to deal with", path="/incidents"),
            Step("coin-items", "time-coin rewards offered, and adding one", path="/coins/manage"),
            Step("coin-redemptions", "time-coin bookings to redeem", path="/coins/redemptions"),
        ],
    ),
    "funder": (
        "funder.yinhang",
        [
            Step("home", "home: the funder's to-do list", path="/home"),
            Step("tenders", "the funder's tenders", path="/tenders"),
            Step("tender", "a tender with its lots", follow=r"^/tenders/\d+$"),
            Step("contracts", "contracts", path="/contracts"),
            Step("contract", "a contract with its milestones", follow=r"^/contracts/\d+$"),
            Step("dashboard", "the dashboard", path="/dashboard"),
        ],
    ),
    "organisation": (
        "org.leling",
        [
            Step("home", "home: the organisation's to-do list", path="/home"),
            Step("tenders", "tenders the organisation may bid on", path="/tenders"),
            Step("tender", "a tender, and whether we may bid on it", follow=r"^/tenders/\d+$"),
            Step("bids", "our bids and their results", path="/bids"),
            Step("contracts", "our contracts", path="/contracts"),
            Step("contract", "a contract, reporting a milestone", follow=r"^/contracts/\d+$"),
            Step("rosters", "volunteer rosters to plan", path="/rosters"),
            Step("roster-run", "a roster plan: pins, fairness (Gini) and places", follow=r"^/roster-runs/\d+$"),
            Step("teams", "311 projects", path="/teams"),
            Step(
                "team-project",
                "a 311 project, its teams run started",
                follow=r"^/teams/projects/\d+$",
                press="#run form button[type=submit]",
            ),
            Step("team-run", "a 311 team plan: pins and re-planning", follow=r"^/teams/runs/\d+$"),
            Step("visit-plans", "home-care contracts to plan", path="/visit-plans"),
            Step("visit-board", "a day's board of carers' routes", follow=r"^/visits/contracts/\d+\?day="),
            Step("carers", "the roster of carers, and adding one", path="/carers"),
        ],
    ),
    "reviewer": (
        "reviewer.demo",
        [
            Step("home", "home: bids to score", path="/home"),
            Step("reviews", "tenders to review", path="/reviews"),
            Step("review", "a tender's bids, scored on the sheet", follow=r"^/reviews/\d+$"),
        ],
    ),
    "volunteer": (
        "volunteer.demo",
        [
            Step("home", "home: the next shift and the tab bar", path="/home"),
            Step("shifts", "shifts to sign up for", path="/shifts"),
            Step("shift", "a shift, signing up", follow=r"^/shifts/\d+$"),
            Step("why-not-me", "why I was not proposed for a shift", follow=r"^/shifts/\d+/why-not-me$"),
            Step("calendar", "my calendar", path="/calendar"),
            Step("timebank", "the time bank", path="/timebank"),
            Step("records", "my service record", path="/records"),
            Step("coins", "time-coin rewards to book", path="/coins"),
            Step("coin-bookings", "my time-coin bookings", path="/coins/bookings"),
            Step("visits-today", "a carer's visits of the day, in route order", path="/visits/today"),
            Step("visits", "my home visits to note", path="/visits"),
            Step("data", "my data: download or erase", path="/volunteer/data"),
            Step("erase", "erasing my account: the confirmation (not submitted)", path="/volunteer/data/erase"),
        ],
    ),
}


def _go(page: Page, base: str, step: Step) -> None:
    if step.path is not None:
        page.goto(base + step.path)
        return
    assert step.follow is not None
    hrefs: list[str] = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")
    target = next((h for h in hrefs if re.search(step.follow, h)), None)
    assert target is not None, f"no link to {step.follow} on {page.url}"
    page.goto(base + target)


# A page showing a run (award, roster, teams, visits) reloads itself until the run has finished; the shot waits
# for that, as a user would, rather than show "queued".
FINISHED = '#run-progress[data-status="succeeded"], #run-progress[data-status="failed"]'
RUN_MS = 120_000


def _settle(page: Page) -> None:
    """Wait for the page's load, and for its run to finish if it shows one."""
    page.wait_for_load_state("load")
    if page.query_selector("#run-progress") is not None:
        page.wait_for_selector(FINISHED, timeout=RUN_MS)
        page.wait_for_load_state("load")


def _shoot(page: Page, path: Path, width: str, viewport: ViewportSize) -> None:
    """The page from its top, at most MAX_HEIGHT tall, as a JPEG: the window is made as tall as the picture, so bars
    fixed to the bottom of the screen (the volunteers' tabs) sit at its bottom, as on the screen."""
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT[width])
    page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    page.screenshot(path=str(path), type="jpeg", quality=QUALITY)
    page.set_viewport_size(viewport)


def _readme(shots: dict[str, list[tuple[Step, str]]]) -> str:
    lines = [
        "# What users see",
        "",
        "Each role's home page and main flow on the demo district (`linli seed --seed 1 --scale 0.05`), at a phone's "
        "(390×844) and a desktop's (1280×900) width, in Chinese. Long pages are cut after two phone screens or one "
        "desktop screen. Generated by `make screens` (tests/screens.py); regenerate after changing "
        f"pages. Last generated on {date.today().isoformat()}.",
        "",
    ]
    for role, taken in shots.items():
        login = FLOWS[role][0]
        lines += [f"## {role}" + (f" (`{login}`)" if login else " (not logged in)"), ""]
        lines += ["| page | shows | phone | desktop |", "| --- | --- | --- | --- |"]
        for step, url in taken:
            cells = " | ".join(f"[{w}]({role}-{step.name}-{w}.jpg)" for w, _ in WIDTHS)
            lines.append(f"| `{url}` | {step.shows} | {cells} |")
        lines.append("")
    return "\n".join(lines)


def test_screens(browser: Browser, live_server: LiveServer) -> None:
    """Every role's flow at both widths into docs/screens/, and the README that indexes them."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    for old in SCREENS.glob("*.jpg"):
        old.unlink()
    shots: dict[str, list[tuple[Step, str]]] = {}
    for role, (username, steps) in FLOWS.items():
        for width, viewport in WIDTHS:
            # A phone as a phone: scroll bars over the page rather than beside it, taps rather than clicks.
            phone = width == "phone"
            context = browser.new_context(
                viewport=viewport, is_mobile=phone, has_touch=phone, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            context.set_default_timeout(STEP_MS)
            try:
                page = context.new_page()
                if username is not None:
                    log_in(page, live_server.url, username, PASSWORDS[username])
                taken = []
                for step in steps:
                    _go(page, live_server.url, step)
                    if step.press is not None:
                        page.click(step.press)
                    _settle(page)
                    _shoot(page, SCREENS / f"{role}-{step.name}-{width}.jpg", width, viewport)
                    taken.append((step, page.url.removeprefix(live_server.url)))
                shots[role] = taken
            finally:
                context.close()
    (SCREENS / "README.md").write_text(_readme(shots))

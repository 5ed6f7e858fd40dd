"""Shared by the headless Chromium tests: the browser fixture, logging in through the form, where screenshots go."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The system Chromium, headless (the test fails, not skips, when it is missing: `make test` installs it)."""
    assert CHROMIUM.exists(), "browser tests need /usr/bin/chromium; `make test` installs it when run as root"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()


def log_in(page: Page, base: str, username: str, password: str) -> None:
    """Fill the login form like a person would, with the keyboard."""
    page.goto(f"{base}/login")
    page.get_by_label(re.compile("用户名")).fill(username)
    page.get_by_label(re.compile("密码")).fill(password)
    page.get_by_label(re.compile("密码")).press("Enter")
    page.wait_for_url(f"{base}/home")


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot in test-artifacts/ (gitignored), for a person to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

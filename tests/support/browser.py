"""Debian's headless Chromium for page tests, installed on first use (tests run as root in CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Final

import pytest

from tests.support.databases import running_in_ci

CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags for a closed network: without the background-networking ones Chromium dials out."""

_INSTALL_TIMEOUT_SECONDS: Final = 900


def _installed() -> Path | None:
    found = shutil.which("chromium")
    return Path(found) if found else None


def chromium_path() -> Path:
    """The Chromium binary, apt-installing Debian's package when it is missing.

    Without it the test fails under CI=true (a missing browser must not pass as a skip) and is
    skipped with the reason elsewhere.
    """
    if (found := _installed()) is not None:
        return found
    reason = "Debian's chromium is not installed"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        commands = (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"])
        try:
            for command in commands:
                subprocess.run(
                    command,
                    env=env,
                    check=True,
                    capture_output=True,
                    timeout=_INSTALL_TIMEOUT_SECONDS,
                )
        except (subprocess.SubprocessError, OSError) as error:
            reason = f"installing chromium failed: {error}"
        if (found := _installed()) is not None:
            return found
    if running_in_ci():
        pytest.fail(f"{reason} (mandatory with CI=true)")
    pytest.skip(reason)

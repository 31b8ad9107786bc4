"""End-to-end test of the VS Code extension in real VS Code (code-server).

Packages the extension (`npm run package`), runs `run-e2e.mjs` once for the
module (it installs the .vsix into an isolated code-server, drives it with
headless Chromium and writes a JSON result) and reports each of its steps as
one test.

Needs `tests/e2e/vscode/setup.sh` to have run. Without it the tests are
skipped, unless OPENPROSE_E2E_REQUIRE=1, which turns every skip (missing
setup, no language server) into a failure. OPENPROSE_SKIP_VSCODE_E2E=1 skips
the module. Screenshots, logs and result.json land in
tests/e2e/artifacts/vscode/ (or $OPENPROSE_E2E_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
EXTENSION = REPO / "vscode-extension"
CACHE = Path(os.environ.get("OPENPROSE_E2E_CACHE") or Path.home() / ".cache" / "openprose-e2e")
ARTIFACTS = Path(os.environ.get("OPENPROSE_E2E_ARTIFACTS") or REPO / "tests" / "e2e" / "artifacts" / "vscode")
REQUIRE = os.environ.get("OPENPROSE_E2E_REQUIRE") == "1"
CODE_SERVER_VERSION = "4.139.1"  # keep in step with setup.sh

PACKAGE_TIMEOUT = 300
RUN_TIMEOUT = 600  # run-e2e.mjs stops itself after 420 s

# Steps that need no language server, then the ones that do.
EDITOR_STEPS = [
    "install-extension",
    "start-code-server",
    "open-workbench",
    "open-prose-file",
    "server-not-found-message",
    "textmate-highlighting",
    "how-to-install",
    "editing-rules",
    "server-start-failure-message",
]
SERVER_STEPS = [
    "server-starts",
    "diagnostic-in-problems",
    "diagnostic-hover",
    "quick-fix",
    "completion-in-parallel-modifiers",
    "run-simulated-from-palette",
    "run-progress-cancel",
    "code-lens-run",
    "permission-dialog-allow",
    "permission-dialog-deny",
    "api-key-secret-storage",
    "walkthrough-opens-and-runs-example",
]
SCREENSHOTS = {
    "textmate-highlighting": "vscode-textmate-highlighting.png",
    "server-not-found-message": "vscode-server-not-found.png",
    "diagnostic-hover": "vscode-diagnostic-hover.png",
    "quick-fix": "vscode-quick-fix.png",
    "completion-in-parallel-modifiers": "vscode-completion.png",
    "run-progress-cancel": "vscode-run-progress.png",
    "run-simulated-from-palette": "vscode-run-finished.png",
    "permission-dialog-allow": "vscode-permission-dialog.png",
}

pytestmark = pytest.mark.skipif(
    os.environ.get("OPENPROSE_SKIP_VSCODE_E2E") == "1", reason="OPENPROSE_SKIP_VSCODE_E2E=1"
)


def _server_command() -> list[str]:
    """`--server-command` for the `prose` of the Python running pytest, unless one was chosen.

    Left to itself, run-e2e.mjs asks the `python3` on PATH; with pytest started as
    `.venv/bin/python -m pytest` and no venv activated, that is another Python,
    whose `prose` may be another checkout's (an editable install elsewhere), and
    the server steps would not test this one.
    """
    if os.environ.get("OPENPROSE_E2E_SERVER_COMMAND"):
        return []
    prose = Path(sysconfig.get_path("scripts")) / "prose"
    return ["--server-command", str(prose)] if os.access(prose, os.X_OK) else []


def _not_available(reason: str) -> None:
    if REQUIRE:
        pytest.fail(reason)
    pytest.skip(reason)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        _not_available("node/npm not on PATH")
    setup_hint = "run tests/e2e/vscode/setup.sh first"
    if not (CACHE / "code-server" / f".installed-{CODE_SERVER_VERSION}").exists():
        _not_available(f"code-server is not installed in {CACHE}: {setup_hint}")
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        _not_available(f"playwright-core is not installed in {HERE}: {setup_hint}")
    if not (EXTENSION / "node_modules" / "@vscode" / "vsce").is_dir():
        _not_available(f"the extension's npm dependencies are not installed: {setup_hint}")
    if not Path(os.environ.get("OPENPROSE_E2E_CHROMIUM", "/usr/bin/chromium")).exists():
        _not_available(f"Chromium is not installed: {setup_hint}")

    work = tmp_path_factory.mktemp("vscode-e2e")
    vsix = work / "openprose.vsix"
    packaged = subprocess.run(
        [npm, "run", "package", "--", "--out", str(vsix)],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=PACKAGE_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert packaged.returncode == 0 and vsix.exists(), (
        f"npm run package failed ({packaged.returncode}):\n{_tail(packaged.stdout)}\n{_tail(packaged.stderr)}"
    )

    result_file = ARTIFACTS / "result.json"
    if result_file.exists():
        result_file.unlink()
    completed = subprocess.run(
        [node, str(HERE / "run-e2e.mjs"), "--vsix", str(vsix), "--artifacts", str(ARTIFACTS), "--json", str(result_file),
         *_server_command()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    if not result_file.exists():
        pytest.fail(
            f"run-e2e.mjs wrote no result (exit {completed.returncode}):\n"
            f"{_tail(completed.stderr)}\n{_tail(completed.stdout)}"
        )
    result = json.loads(result_file.read_text(encoding="utf-8"))
    result["_exit_code"] = completed.returncode
    result["_log"] = completed.stderr
    if completed.returncode == 2:
        _not_available(f"e2e environment not ready: {result.get('error')}")
    return result


def _step(result: dict[str, Any], name: str) -> dict[str, Any]:
    for step in result["steps"]:
        if step["name"] == name:
            return step
    raise AssertionError(
        f"step {name!r} did not run (error: {result.get('error')}); log:\n{_tail(result.get('_log', ''))}"
    )


def _check(result: dict[str, Any], name: str) -> None:
    step = _step(result, name)
    if step["status"] == "skipped":
        _not_available(f"{name}: {step['detail']}")
    where = f" (screenshot: {step['screenshot']})" if step.get("screenshot") else ""
    assert step["status"] == "passed", f"{name} failed: {step['detail']}{where}"


@pytest.mark.parametrize("name", EDITOR_STEPS)
def test_editor_step(e2e: dict[str, Any], name: str) -> None:
    """The extension installs, activates and works without a language server."""
    _check(e2e, name)


@pytest.mark.parametrize("name", SERVER_STEPS)
def test_language_server_step(e2e: dict[str, Any], name: str) -> None:
    """Diagnostics, quick fix, completion and runs through the OpenProse language server."""
    _check(e2e, name)


def test_screenshots_written(e2e: dict[str, Any]) -> None:
    written = {Path(p).name for p in e2e["screenshots"]}
    for step, file in SCREENSHOTS.items():
        if _step(e2e, step)["status"] == "passed":
            assert file in written, f"{file} missing after {step}"
            assert (ARTIFACTS / "screenshots" / file).stat().st_size > 10_000


def test_no_unexpected_failures(e2e: dict[str, Any]) -> None:
    assert e2e.get("error") is None, e2e.get("error")
    failed = [s["name"] for s in e2e["steps"] if s["status"] == "failed"]
    assert not failed, f"failed steps: {failed}"

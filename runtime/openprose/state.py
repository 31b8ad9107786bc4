"""Run state on disk, in the `.prose/` layout of the OpenProse state spec.

The directory is the durable record of a run: people inspect it, and
`prose run --resume` continues from it after a crash. Hence the rules here:

* Every file is replaced atomically (temp file in the same directory, fsync,
  ``os.replace``, fsync of the directory), so a run killed at any instant leaves
  each file either old or new, never torn. A new run directory is assembled under
  a hidden name and renamed into place, so a run either exists complete or not at all.
* ``state.md`` is append-only; each event is one line written with a single
  ``write`` on an ``O_APPEND`` descriptor and fsynced. Readers ignore a final line
  with no newline (only possible after power loss), and the next append starts a
  fresh line, so a torn tail can never corrupt later events.
* Text that contains the value of a credential-like environment variable (names
  containing KEY, TOKEN, SECRET, PASSWORD or CREDENTIAL), verbatim or in a common
  encoding, is redacted before it is written (by the runtime's one `Redactor`),
  so an echoed API key never lands on disk.

Layout under ``root`` (the project directory)::

    .prose/runs/{YYYYMMDD}-{HHMMSS}-{random6}/   run id uses UTC time
        program.prose  state.md
        bindings/{name}.md  bindings/{name}__{scope}.md
        agents/{agent}/memory.md  agents/{agent}/{agent}-001.md ...
        run.json                                   how the run was started (for --resume)
        imports/{handle}--{slug}/                 same structure, recursively
    .prose/agents/{agent}/                        persist: project
    ~/.prose/agents/{agent}/                      persist: user
"""

from __future__ import annotations

import json
import os
import re
import secrets as _secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from .files import append_line
from .redact import Redactor, env_secrets

__all__ = ["RunNotFoundError", "RunStateError", "RunStore"]

_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-z]{6}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_SCOPE = re.compile(r"^[A-Za-z0-9-]+$")
_KIND = re.compile(r"^[a-z][a-z-]*$")
_SLUG = re.compile(r"^[A-Za-z0-9_.-]+$")
_EVENT = re.compile(r"^(?P<id>[^\s→]+)→ (?P<rest>.*)$")
_DONE = "✓"


class RunStateError(Exception):
    """A run directory is missing, malformed, or an argument would escape it."""


class RunNotFoundError(RunStateError):
    pass


def _utc_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _fsync_dir(path: Path) -> None:
    # Makes a rename durable. Best effort: some filesystems refuse fsync on directories.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, text: str, durable: bool = True) -> None:
    """Replace a file in one step (temp file + rename).

    The rename alone guarantees that a killed process leaves the old or the new
    file, never a torn one; `durable` adds the fsyncs that also survive power loss.
    """
    tmp = path.with_name(f".{path.name}.{_secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    if durable:
        _fsync_dir(path.parent)


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _split_binding(text: str) -> str:
    """The value part of a binding file: everything after the first ``---`` line
    outside the fenced source block (and the blank line we put after it).

    Splits on ``\n`` only: ``str.splitlines`` would also break on characters such
    as U+2028 that may legitimately occur inside a value or source.
    """
    lines = text.split("\n")
    fence = 0
    offset = 0
    for i, line in enumerate(lines[:-1]):  # the last piece has no newline, so it cannot be the separator
        bare = line.rstrip("\r")
        if fence:
            if bare and set(bare) == {"`"} and len(bare) >= fence:
                fence = 0
        elif bare.startswith("```"):
            fence = len(bare) - len(bare.lstrip("`"))
        elif bare == "---":
            offset += len(line) + 1
            if i + 1 < len(lines) - 1 and lines[i + 1].rstrip("\r") == "":
                offset += len(lines[i + 1]) + 1
            return text[offset:]
        offset += len(line) + 1
    raise RunStateError("binding file has no '---' separator")


def _read(path: Path) -> str:
    # Bytes, not read_text(): universal-newline decoding would turn a stored "\r" into "\n".
    return path.read_bytes().decode("utf-8")


class RunStore:
    """One run's directory. Build with :meth:`create` or :meth:`open`."""

    def __init__(
        self,
        root: Path,
        run_dir: Path,
        *,
        home: Path | None = None,
        secrets: Iterable[str] | None = None,
        durable: bool = True,
    ) -> None:
        self._root = Path(root)
        self._run_dir = Path(run_dir)
        self._home = home
        self._secrets = tuple(secrets) if secrets is not None else env_secrets(os.environ)
        self._redactor = Redactor(self._secrets)
        self._durable = durable  # fsync every write (survives power loss, costs ~ms per write)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        root: Path,
        program_text: str,
        program_name: str,
        *,
        home: Path | None = None,
        secrets: Iterable[str] | None = None,
        durable: bool = True,
    ) -> RunStore:
        """Start a new run under ``root/.prose/runs``.

        ``secrets`` defaults to credential-like environment values; ``home`` (for
        ``persist: user``) defaults to the user's home directory.
        """
        runs = Path(root) / ".prose" / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        while True:
            run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + _secrets.token_hex(3)
            final = runs / run_id
            if final.exists():
                continue
            staging = runs / f".staging-{run_id}"
            store = cls(root, staging, home=home, secrets=secrets, durable=durable)
            store._init_layout(program_text, f"# run:{run_id} {program_name}")
            try:
                os.rename(staging, final)  # fails if a same-second run took the id meanwhile
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
                continue
            _fsync_dir(runs)
            store._run_dir = final
            return store

    @classmethod
    def open(
        cls,
        root: Path,
        run_id: str,
        *,
        home: Path | None = None,
        secrets: Iterable[str] | None = None,
        durable: bool = True,
    ) -> RunStore:
        """Reopen an existing run (for ``--resume``)."""
        runs = Path(root) / ".prose" / "runs"
        if not _RUN_ID.match(run_id):
            raise RunNotFoundError(
                f"{run_id!r} is not a run id (expected YYYYMMDD-HHMMSS-xxxxxx, e.g. 20260115-143052-a7b3c9)"
            )
        run_dir = runs / run_id
        if not (run_dir / "state.md").is_file():
            known = cls.list_runs(root)
            hint = f"; existing runs: {', '.join(known[-5:])}" if known else "; there are no runs there yet"
            raise RunNotFoundError(f"no run {run_id!r} under {runs}{hint}")
        return cls(root, run_dir, home=home, secrets=secrets, durable=durable)

    @staticmethod
    def list_runs(root: Path) -> list[str]:
        """Run ids under ``root``, oldest first."""
        runs = Path(root) / ".prose" / "runs"
        if not runs.is_dir():
            return []
        return sorted(p.name for p in runs.iterdir() if _RUN_ID.match(p.name) and (p / "state.md").is_file())

    def import_store(self, handle: str, slug: str, program_text: str) -> RunStore:
        """The nested run directory of an imported program (``imports/{handle}--{slug}``)."""
        if not (_SLUG.match(handle) and _SLUG.match(slug)) or ".." in (handle, slug):
            raise RunStateError(f"invalid import name {handle!r}/{slug!r}")
        child_dir = self._run_dir / "imports" / f"{handle}--{slug}"
        child = RunStore(self._root, child_dir, home=self._home, secrets=self._secrets, durable=self._durable)
        if not (child_dir / "state.md").is_file():
            child_dir.mkdir(parents=True, exist_ok=True)
            child._init_layout(program_text, f"# import:{handle}/{slug} of run:{self.run_id}")
        return child

    def _init_layout(self, program_text: str, header: str) -> None:
        self._run_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("bindings", "agents", "imports"):
            (self._run_dir / sub).mkdir(exist_ok=True)
        self._write(self._run_dir / "program.prose", program_text)
        self._write(self._run_dir / "state.md", self._redactor.text(header).replace("\n", " ") + "\n")

    # -- identity -------------------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self._run_dir.name

    @property
    def run_dir(self) -> Path:
        return self._run_dir

    @property
    def state_path(self) -> Path:
        return self._run_dir / "state.md"

    def __repr__(self) -> str:
        return f"RunStore({str(self._run_dir)!r})"

    # -- writing helpers ------------------------------------------------------------------------
    @property
    def redactor(self) -> Redactor:
        """The redactor this run applies to everything it stores and shows."""
        return self._redactor

    def _write(self, path: Path, text: str) -> None:
        _atomic_write(path, self._redactor.text(text), self._durable)

    # -- state.md ---------------------------------------------------------------------------------
    def append_state(self, line: str) -> None:
        """Append one event line (e.g. ``"2→ ∥start a,b"``) to ``state.md``."""
        if "\n" in line or "\r" in line:
            raise ValueError("a state.md event must be a single line")
        data = (self._redactor.text(line) + "\n").encode("utf-8")
        append_line(self.state_path, data, durable=self._durable)

    def state_lines(self) -> list[str]:
        """Complete lines of ``state.md``; a trailing partial line is dropped."""
        raw = self.state_path.read_bytes()
        if not raw.endswith(b"\n"):
            cut = raw.rfind(b"\n")
            raw = raw[: cut + 1] if cut >= 0 else b""
        text = raw.decode("utf-8", errors="replace")
        return text.split("\n")[:-1] if text else []

    def mark_statement_done(self, stmt_id: str, binding: str | None) -> None:
        if not stmt_id or any(ch.isspace() for ch in stmt_id) or "→" in stmt_id:
            raise ValueError(f"invalid statement id {stmt_id!r}")
        if binding is not None and not _NAME.match(binding):
            raise ValueError(f"invalid binding name {binding!r}")
        self.append_state(f"{stmt_id}→ {binding} {_DONE}" if binding else f"{stmt_id}→ {_DONE}")

    def completed_statements(self) -> set[str]:
        """Ids of statements recorded as finished (``N→ name ✓`` / ``N→ ✓``)."""
        done: set[str] = set()
        for line in self.state_lines():
            m = _EVENT.match(line)
            if m and m.group("rest").rstrip().endswith(_DONE):
                done.add(m.group("id"))
        return done

    def finish(self, error: str | None = None) -> None:
        """Record the end of the run: ``---end TIME`` or ``---error TIME message``."""
        if error is None:
            self.append_state(f"---end {_utc_stamp()}")
        else:
            self.append_state(f"---error {_utc_stamp()} {' '.join(error.split())}")

    # -- bindings ---------------------------------------------------------------------------------
    def binding_path(self, name: str, scope: str | int | None = None) -> Path:
        if not _NAME.match(name):
            raise RunStateError(f"invalid binding name {name!r}")
        if scope is None:
            return self._run_dir / "bindings" / f"{name}.md"
        if not _SCOPE.match(str(scope)):
            raise RunStateError(f"invalid binding scope {scope!r}")
        return self._run_dir / "bindings" / f"{name}__{scope}.md"

    def write_binding(
        self,
        name: str,
        value: str,
        *,
        kind: str = "let",
        scope: str | int | None = None,
        source: str | None = None,
        note: str | None = None,
    ) -> Path:
        """Store a binding's value (replacing any previous one) and return its file.

        `note` is a one-line remark in the header, e.g. that the value was cut off.
        """
        if not _KIND.match(kind):
            raise ValueError(f"invalid binding kind {kind!r}")
        path = self.binding_path(name, scope)
        head = [f"# {name}", "", f"kind: {kind}"]
        if scope is not None:
            head.append(f"execution_id: {scope}")
        if note:
            head.append(f"note: {' '.join(note.split())}")
        head.append("")
        if source:
            fence = _fence(source)
            head += ["source:", f"{fence}prose", source.rstrip("\n"), fence, ""]
        self._write(path, "\n".join(head) + "\n---\n\n" + value)
        return path

    def read_binding(self, name: str, scope: str | int | None = None) -> str | None:
        """The value stored for exactly this name and scope, or None if never written."""
        path = self.binding_path(name, scope)
        try:
            text = _read(path)
        except FileNotFoundError:
            return None
        try:
            return _split_binding(text)
        except RunStateError:
            raise RunStateError(f"{path}: binding file has no '---' separator") from None

    def bindings(self) -> dict[str, str]:
        """All stored bindings, keyed by file stem (``name`` or ``name__scope``)."""
        out: dict[str, str] = {}
        folder = self._run_dir / "bindings"
        for path in sorted(folder.glob("*.md")):
            if path.name.startswith("."):
                continue
            out[path.stem] = _split_binding(_read(path))
        return out

    # -- run record ---------------------------------------------------------------------------------
    def write_record(self, record: Mapping[str, object]) -> None:
        """Store how the run was started (``run.json``: inputs, backend, options), so
        ``prose run --resume ID`` needs nothing else. Credential values are redacted
        like every other file; callers must not pass the API key itself."""
        self._write(self._run_dir / "run.json", json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n")

    def read_record(self) -> dict[str, object] | None:
        """The stored ``run.json``, or None for runs made before it existed (or a damaged one)."""
        try:
            data = json.loads(_read(self._run_dir / "run.json"))
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # -- agent memory -------------------------------------------------------------------------------
    def agent_memory_dir(self, agent: str, persist: str) -> Path:
        """Where a persistent agent's memory lives for a ``persist:`` value.

        ``true`` -> this run; ``project`` -> ``.prose/agents`` of the project;
        ``user`` -> ``~/.prose/agents``; anything else is a directory path (relative
        paths are taken from the project root) that holds this agent's files directly.
        """
        if not _NAME.match(agent):
            raise RunStateError(f"invalid agent name {agent!r}")
        mode = str(persist).strip()
        if mode.lower() == "true":
            return self._run_dir / "agents" / agent
        if mode.lower() == "project":
            return self._root / ".prose" / "agents" / agent
        if mode.lower() == "user":
            return (self._home or Path.home()) / ".prose" / "agents" / agent
        if not mode or mode.lower() == "false":
            raise RunStateError(f"agent {agent!r} is not persistent (persist: {persist!r})")
        path = Path(mode).expanduser()
        return path if path.is_absolute() else self._root / path

    def read_memory(self, agent: str, persist: str) -> str | None:
        try:
            return _read(self.agent_memory_dir(agent, persist) / "memory.md")
        except FileNotFoundError:
            return None

    def write_memory(self, agent: str, persist: str, text: str, *, prompt: str | None = None) -> Path:
        """Replace the agent's ``memory.md`` and record the next history segment.

        The segment is written first: if the run dies in between, ``memory.md``
        still holds the previous complete state. Returns the segment's path.
        """
        folder = self.agent_memory_dir(agent, persist)
        folder.mkdir(parents=True, exist_ok=True)
        pattern = re.compile(rf"^{re.escape(agent)}-(\d{{3,}})\.md$")
        numbers = [int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name))]
        n = max(numbers, default=0) + 1
        head = [f"# Segment {n:03d}", "", f"timestamp: {_utc_stamp()}"]
        if prompt is not None:
            head.append(f"prompt: {json.dumps(' '.join(prompt.split()), ensure_ascii=False)}")
        segment = folder / f"{agent}-{n:03d}.md"
        self._write(segment, "\n".join(head) + "\n\n---\n\n" + text)
        self._write(folder / "memory.md", text)
        return segment


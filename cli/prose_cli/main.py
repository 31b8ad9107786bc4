"""The `prose` command: check, compile, fmt, run, runs and lsp.

Each command imports what only it needs inside its function (the interpreter,
trio and rich for `run`, the language server for `lsp`): a one-file `prose check`
is mostly import time, and tests/test_startup.py keeps it from growing back.

Exit codes are part of the interface that scripts and CI rely on: 0 clean,
1 when a program has errors (or fails when run), 2 when the input cannot be
read or the command is used wrongly.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from openprose import __version__
from openprose.agents.limits import ToolLimits
from openprose.analysis import analyze
from openprose.diagnostics import LineIndex, Severity
from openprose.files import MAX_PROGRAM_BYTES, read_program

from .report import diagnostic_record, snippet
from .targets import InputError, iter_targets, load


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="prose")
def main() -> None:
    """OpenProse tooling: check, format and run .prose programs."""


def _check(paths: tuple[str, ...], output_format: str, snippets: bool, strict: bool = False,
           allow_outside: bool = False) -> None:
    records: list[dict[str, object]] = []
    errors = warnings = files = 0
    unreadable: list[str] = []
    targets = list(iter_targets(paths, allow_outside=allow_outside))
    if not targets:
        click.echo("prose: no .prose files found", err=True)
        sys.exit(2)
    for target in targets:
        path, display = target.path, target.display
        if target.refused is not None:
            unreadable.append(f"{display}: cannot read: {target.refused}")
            continue
        try:
            loaded = load(path, display)
        except InputError as exc:
            unreadable.append(str(exc))
            continue
        files += 1
        workspace = target.root.resolve() if target.root is not None else None
        analysis = analyze(loaded.source, path.resolve(), workspace=workspace, allow_outside=allow_outside)
        index = LineIndex(loaded.source)
        found = analysis.diagnostics
        if strict:
            from openprose.strict import strict_diagnostics

            found = strict_diagnostics(analysis.program, found)
        for diag in found:
            if diag.severity is Severity.ERROR:
                errors += 1
            elif diag.severity is Severity.WARNING:
                warnings += 1
            record = diagnostic_record(display, diag, index)
            records.append(record)
            if output_format == "text":
                click.echo(
                    f"{display}:{record['line']}:{record['column']}: {diag.severity.value}[{diag.code}]: {diag.message}"
                )
                if snippets:
                    click.echo(snippet(index, diag))
    for problem in unreadable:
        click.echo(f"prose: {problem}", err=True)
    if output_format == "json":
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        summary = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''} in {files} file{'s' if files != 1 else ''}"
        click.echo(summary)
    if unreadable:
        sys.exit(2)
    sys.exit(1 if errors else 0)


_PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=True, file_okay=True, path_type=str))
_FORMAT = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Output diagnostics as text lines or as one JSON array.",
)
_SNIPPETS = click.option("--snippets/--no-snippets", default=True, help="Show the source line under each diagnostic.")
_STRICT = click.option(
    "--strict", is_flag=True,
    help="Apply the language reference's rules where prose deliberately differs (see docs/diagnostics.md).",
)
_OUTSIDE = click.option(
    "--allow-outside-workspace", "allow_outside", is_flag=True,
    help="Let `use` read programs outside the workspace (the named directory, else the program's own).",
)


@main.command()
@_PATHS
@_FORMAT
@_SNIPPETS
@_STRICT
@_OUTSIDE
def check(paths: tuple[str, ...], output_format: str, snippets: bool, strict: bool,
          allow_outside: bool) -> None:
    """Check programs (files or directories) for errors and warnings."""
    _check(paths, output_format, snippets, strict, allow_outside)


@main.command()
@_PATHS
@_FORMAT
@_SNIPPETS
@_STRICT
@_OUTSIDE
def compile(paths: tuple[str, ...], output_format: str, snippets: bool, strict: bool,  # noqa: A001
            allow_outside: bool) -> None:
    """Same as `check`; upstream OpenProse calls validation "compiling"."""
    _check(paths, output_format, snippets, strict, allow_outside)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--check", "check_only", is_flag=True, help="Report files that would change; write nothing.")
def fmt(paths: tuple[str, ...], check_only: bool) -> None:
    """Format programs in place (or stdin to stdout when no PATH or `-` is given)."""
    from openprose.fmt import FormatError, format_source

    if not paths or paths == ("-",):
        data = sys.stdin.buffer.read(MAX_PROGRAM_BYTES + 1)
        if len(data) > MAX_PROGRAM_BYTES:
            click.echo(f"<stdin>: programs are limited to {MAX_PROGRAM_BYTES // (1024 * 1024)} MiB", err=True)
            sys.exit(2)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            click.echo(f"<stdin>: not valid UTF-8 at byte {exc.start}", err=True)
            sys.exit(2)
        try:
            formatted = format_source(text)
        except FormatError as exc:
            _report_unformattable("<stdin>", data, exc)
            sys.exit(1)
        if check_only:
            sys.exit(0 if formatted == text else 1)
        sys.stdout.write(formatted)
        return
    changed = failed = 0
    unreadable = False
    for target in iter_targets(paths):
        path, display = target.path, target.display
        if target.refused is not None:
            click.echo(f"prose: {display}: cannot read: {target.refused}", err=True)
            unreadable = True
            continue
        try:
            text = read_program(path).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"prose: {display}: cannot read: {getattr(exc, 'strerror', None) or exc}", err=True)
            unreadable = True
            continue
        try:
            formatted = format_source(text)
        except FormatError as exc:
            failed += 1
            _report_unformattable(display, text.encode("utf-8", "surrogateescape"), exc)
            continue
        if formatted != text:
            changed += 1
            if check_only:
                click.echo(f"would reformat {display}")
            else:
                tmp = path.with_name(f".{path.name}.fmt-tmp")
                tmp.write_text(formatted, encoding="utf-8", newline="")
                tmp.replace(path)
                click.echo(f"reformatted {display}")
    if unreadable:
        sys.exit(2)
    if failed or (check_only and changed):
        sys.exit(1)


def _report_unformattable(display: str, source: bytes, exc: Exception) -> None:
    """Why a file was left unformatted: its first error, with the code `prose check` gives it."""
    from openprose.fmt import FormatError, FormatterSafetyError

    if not isinstance(exc, FormatterSafetyError):
        errors = [d for d in analyze(source).diagnostics if d.severity is Severity.ERROR]
        if errors:
            first = errors[0]
            index = LineIndex(source)
            record = diagnostic_record(display, first, index)
            more = f" (and {len(errors) - 1} more; run `prose check {display}`)" if len(errors) > 1 else ""
            click.echo(
                f"{display}:{record['line']}:{record['column']}: error[{first.code}]: {first.message}{more}", err=True
            )
            click.echo(f"{display}: not formatted (fix the error first)", err=True)
            return
    assert isinstance(exc, FormatError)
    for line, col, message in exc.errors:
        click.echo(f"{display}:{line}:{col}: error: {message}", err=True)


def _parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint=what)
        if value.startswith("@"):
            try:
                value = Path(value[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise click.BadParameter(f"cannot read {value[1:]}: {exc.strerror or exc}", param_hint=what) from exc
        out[name.strip()] = value
    return out


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--input", "-i", "input_pairs", multiple=True, metavar="NAME=VALUE",
              help="Value for a program input (repeatable); NAME=@file reads the value from a file.")
@click.option("--backend", type=click.Choice(["auto", "simulated", "scripted", "anthropic"]), default="auto",
              show_default=True, help="Where sessions run; auto uses anthropic when ANTHROPIC_API_KEY is set.")
@click.option("--script", type=click.Path(dir_okay=False, path_type=Path), help="Script file for --backend scripted.")
@click.option("--model-alias", "alias_pairs", multiple=True, metavar="ALIAS=MODEL_ID",
              help="Map a model alias (sonnet/opus/haiku) to a model id (repeatable).")
@click.option("--simulated-delay", type=float, default=None, metavar="SECONDS",
              help="Latency of each simulated session, 0 to 3600 (to watch progress on the offline backend; default 0).")
@click.option("--idle-timeout", type=float, default=None, metavar="SECONDS",
              help="Abandon an API attempt after this long without data or a stream event (default 60/90).")
@click.option("--call-deadline", type=float, default=None, metavar="SECONDS",
              help="Longest one API call may take, all retries included (default 900).")
@click.option("--durable", is_flag=True, default=None, help="fsync every state file (survives power loss; slower).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line instead of live progress.")
@click.option("--resume", "resume_id", metavar="RUN_ID",
              help="Continue a killed run with its recorded program, inputs, backend and options.")
@click.option("--max-output", type=click.IntRange(min=1), default=None, metavar="N",
              help="Shorten each printed output to N characters (default: print outputs whole).")
@click.option("--output", "output_name", metavar="NAME",
              help="Print only this output's raw text on stdout (progress goes to stderr), for scripts.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The workspace: sessions' tools act here and .prose/ is kept here (default: the current directory).")
@click.option("--yes", "-y", "assume_yes", is_flag=True, default=None,
              help="Answer yes to every permission question (`prompt` in permissions:).")
@click.option("--max-tool-turns", type=click.IntRange(min=1, max=10_000), default=None, metavar="N",
              help=f"Model turns with tool calls one session may take (default {ToolLimits.max_turns}).")
@click.option("--tool-timeout", type=click.FloatRange(min=0, min_open=True, max=86_400), default=None,
              metavar="SECONDS",
              help=f"Time one tool call (a command, a file read) may take (default {ToolLimits.call_timeout:g}).")
@click.option("--effort", type=click.Choice(["none", "low", "medium", "high"]), default=None,
              help="Thinking effort of sessions that do not set `effort:` (default: low).")
@click.option("--prices", "prices_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Price file for the cost estimate (default: $OPENPROSE_PRICES or the bundled prices.json).")
@click.option("--estimate", is_flag=True,
              help="Print how many model calls the program makes at least/at most, and run nothing.")
@_OUTSIDE
def run(file: Path | None, input_pairs: tuple[str, ...], backend: str, script: Path | None,
        alias_pairs: tuple[str, ...], simulated_delay: float | None, durable: bool | None, as_json: bool,
        resume_id: str | None, max_output: int | None, output_name: str | None, workdir: Path | None,
        assume_yes: bool | None, max_tool_turns: int | None, tool_timeout: float | None, effort: str | None,
        prices_file: Path | None, estimate: bool, idle_timeout: float | None, call_deadline: float | None,
        allow_outside: bool) -> None:
    """Run a program, showing live progress (exit 0 ok, 1 failed, 2 not runnable, 130 interrupted).

    FILE may be left out with --resume: the run remembers its program and how it was started.
    """
    from .run import estimate_command, run_command

    if simulated_delay is not None and not (math.isfinite(simulated_delay) and 0 <= simulated_delay <= MAX_SIMULATED_DELAY):
        raise click.BadParameter(f"expected 0 to {MAX_SIMULATED_DELAY:g} seconds, got {simulated_delay!r}",
                                 param_hint="--simulated-delay")
    for value, hint in ((idle_timeout, "--idle-timeout"), (call_deadline, "--call-deadline")):
        if value is not None and not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
            raise click.BadParameter(f"expected more than 0 and at most {MAX_TIMEOUT:g} seconds, got {value!r}",
                                     param_hint=hint)

    if estimate:
        if file is None:
            raise click.UsageError("--estimate needs a program file")
        sys.exit(estimate_command(file, as_json=as_json))
    sys.exit(
        run_command(
            file,
            inputs=_parse_pairs(input_pairs, "--input"),
            backend_name=None if backend == "auto" else backend,
            script=script,
            aliases=_parse_pairs(alias_pairs, "--model-alias"),
            as_json=as_json,
            resume=resume_id,
            workdir=workdir,
            simulated_delay=simulated_delay,
            durable=durable,
            max_output=max_output,
            output_name=output_name,
            assume_yes=assume_yes,
            max_tool_turns=max_tool_turns,
            tool_timeout=tool_timeout,
            effort=effort,
            prices_file=prices_file,
            allow_outside=allow_outside,
            idle_timeout=idle_timeout,
            call_deadline=call_deadline,
        )
    )


#: Upper bound for --simulated-delay: an hour per session is already far beyond any demo.
MAX_SIMULATED_DELAY = 3600.0
#: Upper bound for the API timeouts: a day.
MAX_TIMEOUT = 86400.0


@main.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project directory that holds .prose/ (default: the current directory).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def runs(workdir: Path | None, as_json: bool) -> None:
    """List runs: status, start time (UTC), program and whether --resume can continue them."""
    from openprose.run_record import list_runs

    found = list_runs(workdir or Path.cwd())
    if as_json:
        click.echo(json.dumps([vars(r) for r in found], indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo(f"no runs under {(workdir or Path.cwd()) / '.prose' / 'runs'}")
        return
    rows = [("RUN ID", "STATUS", "STARTED (UTC)", "RESUME", "PROGRAM")]
    for r in found:
        rows.append((r.run_id, r.status, r.started.replace("T", " ").rstrip("Z"),
                     "yes" if r.resumable else f"no: {r.why_not}", r.program))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])


@main.command()
@click.option("--tcp", metavar="HOST:PORT", default=None, help="Listen on a TCP address instead of stdio.")
def lsp(tcp: str | None) -> None:
    """Start the language server (stdio by default)."""
    from openprose_lsp.server import main as serve

    serve(tcp=tcp)


if __name__ == "__main__":  # pragma: no cover
    main()

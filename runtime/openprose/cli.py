"""The `prose` command: check, compile, fmt, run and lsp.

Exit codes are part of the interface that scripts and CI rely on: 0 clean,
1 when a program has errors (or fails when run), 2 when the input cannot be
read or the command is used wrongly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from . import __version__
from .agents.limits import ToolLimits
from .analysis import analyze
from .diagnostics import Diagnostic, LineIndex, Severity


@dataclass
class _Loaded:
    path: Path
    display: str
    source: bytes


class InputError(Exception):
    """A path that cannot be read; reported with exit code 2."""


def iter_program_files(paths: Iterable[str]) -> Iterator[tuple[Path, str]]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.prose") if p.is_file() and ".prose" not in p.parent.parts)
            for child in found:
                yield child, str(child)
        else:
            yield path, raw


def load(path: Path, display: str) -> _Loaded:
    try:
        return _Loaded(path, display, path.read_bytes())
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror or exc}") from exc


def diagnostic_record(display: str, diag: Diagnostic, index: LineIndex) -> dict[str, object]:
    span = diag.span
    return {
        "file": display,
        "line": span.start_row + 1,
        "column": index.char_col(span.start_row, span.start_col) + 1,
        "end_line": span.end_row + 1,
        "end_column": index.char_col(span.end_row, span.end_col) + 1,
        "severity": diag.severity.value,
        "code": diag.code,
        "message": diag.message,
    }


def _snippet(index: LineIndex, diag: Diagnostic) -> str:
    span = diag.span
    line = index.line_text(span.start_row)
    start = index.char_col(span.start_row, span.start_col)
    if span.end_row == span.start_row:
        end = max(start + 1, index.char_col(span.end_row, span.end_col))
    else:
        end = max(start + 1, len(line))
    number = str(span.start_row + 1)
    pad = " " * len(number)
    return f" {number} | {line}\n {pad} | {' ' * start}{'^' * (end - start)}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="prose")
def main() -> None:
    """OpenProse tooling: check, format and run .prose programs."""


def _check(paths: tuple[str, ...], output_format: str, snippets: bool, strict: bool = False) -> None:
    records: list[dict[str, object]] = []
    errors = warnings = files = 0
    unreadable: list[str] = []
    targets = list(iter_program_files(paths))
    if not targets:
        click.echo("prose: no .prose files found", err=True)
        sys.exit(2)
    for path, display in targets:
        try:
            loaded = load(path, display)
        except InputError as exc:
            unreadable.append(str(exc))
            continue
        files += 1
        analysis = analyze(loaded.source, path.resolve())
        index = LineIndex(loaded.source)
        found = analysis.diagnostics
        if strict:
            from .strict import strict_diagnostics

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
                    click.echo(_snippet(index, diag))
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


@main.command()
@_PATHS
@_FORMAT
@_SNIPPETS
@_STRICT
def check(paths: tuple[str, ...], output_format: str, snippets: bool, strict: bool) -> None:
    """Check programs (files or directories) for errors and warnings."""
    _check(paths, output_format, snippets, strict)


@main.command()
@_PATHS
@_FORMAT
@_SNIPPETS
@_STRICT
def compile(paths: tuple[str, ...], output_format: str, snippets: bool, strict: bool) -> None:  # noqa: A001 - upstream's word
    """Same as `check`; upstream OpenProse calls validation "compiling"."""
    _check(paths, output_format, snippets, strict)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--check", "check_only", is_flag=True, help="Report files that would change; write nothing.")
def fmt(paths: tuple[str, ...], check_only: bool) -> None:
    """Format programs in place (or stdin to stdout when no PATH or `-` is given)."""
    from .fmt import FormatError, format_source

    if not paths or paths == ("-",):
        data = sys.stdin.buffer.read()
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
    for path, display in iter_program_files(paths):
        try:
            text = path.read_bytes().decode("utf-8")
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
    from .fmt import FormatError, FormatterSafetyError

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
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--input", "-i", "input_pairs", multiple=True, metavar="NAME=VALUE",
              help="Value for a program input (repeatable); NAME=@file reads the value from a file.")
@click.option("--backend", type=click.Choice(["auto", "simulated", "scripted", "anthropic"]), default="auto",
              show_default=True, help="Where sessions run; auto uses anthropic when ANTHROPIC_API_KEY is set.")
@click.option("--script", type=click.Path(dir_okay=False, path_type=Path), help="Script file for --backend scripted.")
@click.option("--model-alias", "alias_pairs", multiple=True, metavar="ALIAS=MODEL_ID",
              help="Map a model alias (sonnet/opus/haiku) to a model id (repeatable).")
@click.option("--simulated-delay", type=float, default=0.0, show_default=True, metavar="SECONDS",
              help="Latency of each simulated session (to watch progress on the offline backend).")
@click.option("--durable", is_flag=True, help="fsync every state file (survives power loss; slower).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line instead of live progress.")
@click.option("--resume", "resume_id", metavar="RUN_ID", help="Continue a killed run, reusing finished statements.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The workspace: sessions' tools act here and .prose/ is kept here (default: the current directory).")
@click.option("--yes", "-y", "assume_yes", is_flag=True,
              help="Answer yes to every permission question (`prompt` in permissions:).")
@click.option("--max-tool-turns", type=click.IntRange(min=1, max=10_000), default=ToolLimits.max_turns,
              show_default=True, metavar="N", help="Model turns with tool calls one session may take.")
@click.option("--tool-timeout", type=click.FloatRange(min=0, min_open=True, max=86_400), default=ToolLimits.call_timeout,
              show_default=True, metavar="SECONDS", help="Time one tool call (a command, a file read) may take.")
@click.option("--effort", type=click.Choice(["none", "low", "medium", "high"]), default=None,
              help="Thinking effort of sessions that do not set `effort:` (default: low).")
@click.option("--prices", "prices_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Price file for the cost estimate (default: $OPENPROSE_PRICES or the bundled prices.json).")
@click.option("--estimate", is_flag=True,
              help="Print how many model calls the program makes at least/at most, and run nothing.")
def run(file: Path, input_pairs: tuple[str, ...], backend: str, script: Path | None, alias_pairs: tuple[str, ...],
        simulated_delay: float, durable: bool, as_json: bool, resume_id: str | None, workdir: Path | None,
        assume_yes: bool, max_tool_turns: int, tool_timeout: float, effort: str | None, prices_file: Path | None,
        estimate: bool) -> None:
    """Run a program, showing live progress (exit 0 ok, 1 failed, 2 not runnable, 130 interrupted)."""
    from .run_command import estimate_command, run_command

    if estimate:
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
            assume_yes=assume_yes,
            tool_limits=ToolLimits(max_turns=max_tool_turns, call_timeout=tool_timeout),
            effort=effort,
            prices_file=prices_file,
        )
    )


@main.command()
@click.option("--tcp", metavar="HOST:PORT", default=None, help="Listen on a TCP address instead of stdio.")
def lsp(tcp: str | None) -> None:
    """Start the language server (stdio by default)."""
    from openprose_lsp.server import main as serve

    serve(tcp=tcp)


if __name__ == "__main__":  # pragma: no cover
    main()

"""Live progress of a run for a person at a terminal.

The interpreter only emits events; this module folds them into a tree of
running sessions and parallel branches (with elapsed time and tokens) and
draws it with rich. Refreshing is driven by a trio task, not rich's own
refresh thread, so the runtime stays single-threaded.

The tree must not flatter the run: a step that was cancelled or cut off by
Ctrl-C is ⊘ (never ✓), AI-judged conditions and choices appear with their
answers, and the simulated backend's answers are labelled as placeholders.
When stdout is not a terminal, `plain_line` and `plain_summary` give the same
information as plain text, with every output whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from openprose.accounting import format_usage
from openprose.interpreter import RunEvent
from openprose.text import shorten as one_line

_STATUS_STYLE = {"ok": "green", "failed": "red", "cancelled": "yellow", "error": "red", "denied": "magenta", None: "cyan"}
_STATUS_MARK = {"ok": "✓", "failed": "✗", "cancelled": "⊘", "error": "✗", "denied": "⊘", None: "…"}
SIMULATED_NOTE = "simulated backend: every answer is a placeholder, not a model's work"


def plural(count: int, word: str) -> str:
    """`1 session`, `2 sessions`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass
class _Node:
    label: str
    kind: str  # "group" | "branch" | "session" | "judgement" (a condition or choice)
    started: float
    ended: float | None = None
    status: str | None = None
    error: str | None = None
    tokens: int = 0
    answers: list[str] = field(default_factory=list)
    children: dict[str, "_Node"] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def child(self, key: str, label: str, kind: str, t: float) -> "_Node":
        node = self.children.get(key)
        if node is None:
            node = _Node(label, kind, t)
            self.children[key] = node
            self.order.append(key)
        return node


class RunView:
    """Folds run events into a tree; `render(now)` draws it."""

    def __init__(self, program: str, max_finished: int = 12, *, simulated: bool = False,
                 max_output: int | None = None) -> None:
        self.program = program
        self.simulated = simulated
        self.max_output = max_output
        self.root = _Node(program, "group", 0.0)
        self.now = 0.0
        self.final: RunEvent | None = None
        self.run_dir: str | None = None
        self.warnings: list[str] = []
        self.sessions_done = 0
        self.max_finished = max_finished
        self._open: dict[tuple[tuple[str, ...], str], list[str]] = {}
        self._seq = 0
        self.totals: dict | None = None  # the latest running totals (tokens, calls, cost)
        self._sessions: dict[str, _Node] = {}  # session id -> its node, for tool calls
        self._tools: dict[str, list[_Node]] = {}  # session id -> its running tool calls
        self.tool_calls = 0
        self.tools_denied = 0

    def feed(self, event: RunEvent) -> None:
        self.now = max(self.now, event.t)
        self._note_totals(event)
        if event.type == "run.start":
            self.run_dir = event.run_dir
            self.root.label = f"{self.program}  [dim]{event.run_dir or ''}[/]"
        elif event.type in ("branch.start", "branch.end"):
            parent = self._group(event.path[:-1], event.t)
            label = event.path[-1] if event.path else "branch"
            node = parent.child(label, escape(label), "branch", event.t)
            if event.type == "branch.end":
                node.ended, node.status, node.error = event.t, event.status, event.error
        elif event.type == "session.start":
            parent = self._group(event.path, event.t)
            self._seq += 1
            key = f"s{self._seq}"
            title = escape(one_line(event.prompt or "session", 70))
            if event.binding:
                title = f"{event.binding} = {title}"
            if event.agent:
                title += f"  [dim]({event.agent})[/]"
            node = parent.child(key, title, "session", event.t)
            self._open.setdefault((event.path, event.prompt or ""), []).append(key)
            if event.session:
                self._sessions[event.session] = node
        elif event.type in ("tool.start", "tool.end"):
            self._feed_tool(event)
        elif event.type == "session.end":
            keys = self._open.get((event.path, event.prompt or ""))
            if keys:
                key = keys.pop(0)
                node = self._group(event.path, event.t).children.get(key)
                if node is not None:
                    node.ended, node.status, node.error = event.t, event.status, event.error
                    if event.usage:
                        node.tokens = int(event.usage.get("input_tokens", 0)) + int(event.usage.get("output_tokens", 0))
            if event.status == "ok":
                self.sessions_done += 1
        elif event.type in ("condition", "choice"):
            self._judgement(event)
        elif event.type == "warning" and event.error:
            self.warnings.append(event.error)
        elif event.type == "run.end":
            self.final = event
            if event.status == "cancelled":
                _cut_off(self.root, event.t)

    def _judgement(self, event: RunEvent) -> None:
        """A condition or choice node; a loop's repeated check updates one node."""
        parent = self._group(event.path, event.t)
        text = one_line(event.prompt or "", 60)
        key = f"{event.type}:{event.prompt}"
        if event.type == "condition":
            node = parent.child(key, "", "judgement", event.t)
            node.answers.append(event.answer or "?")
            seen = ", ".join(node.answers[-4:])
            more = f"  [dim](checked {len(node.answers)}×: {'…, ' if len(node.answers) > 4 else ''}{seen})[/]" \
                if len(node.answers) > 1 else ""
            node.label = f"**{escape(text)}** → [bold]{event.answer}[/]{more}"
        else:
            node = parent.child(key, "", "judgement", event.t)
            node.answers.append(event.answer or "?")
            node.label = f"choice **{escape(text)}** → [bold]{escape(event.answer or '?')}[/]"
        if event.reason:  # the judge's one line about its latest answer
            node.label += f"  [dim italic]{escape(one_line(event.reason, 80))}[/]"
        node.ended, node.status = event.t, "ok"
        if event.usage:
            node.tokens += sum(int(v) for v in event.usage.values() if isinstance(v, (int, float)))

    def _note_totals(self, event: RunEvent) -> None:
        if event.totals is not None:
            self.totals = event.totals
        elif event.type == "run.end" and event.usage:
            self.totals = event.usage

    def totals_line(self) -> str | None:
        """Running totals for the footer: tokens so far and the estimated cost."""
        t = self.totals
        if not t or not (t.get("calls") or {}).get("total"):
            return None
        cached = t.get("cache_read_tokens", 0)
        line = (f"{t['calls']['total']} model calls · {t.get('input_tokens', 0):,} in / "
                f"{t.get('output_tokens', 0):,} out tokens")
        if cached:
            line += f" · {cached:,} from cache"
        if isinstance(t.get("cost_usd"), (int, float)):
            line += f" · ≈ ${t['cost_usd']:.4f}"
        return line

    def _feed_tool(self, event: RunEvent) -> None:
        session = self._sessions.get(event.session or "")
        if session is None:
            return
        running = self._tools.setdefault(event.session or "", [])
        label = f"{event.tool} [dim]{escape(one_line(event.summary, 60))}[/]"
        if event.type == "tool.start":
            self._seq += 1
            running.append(session.child(f"t{self._seq}", label, "tool", event.t))
            return
        node = next((n for n in running if n.label == label), None)
        if node is None:  # an end without a start (a refusal decided before the call)
            self._seq += 1
            node = session.child(f"t{self._seq}", label, "tool", event.t)
        else:
            running.remove(node)
        node.ended, node.status = event.t, event.status
        node.error = f"{event.rule}: {event.error}" if event.status == "denied" and event.rule else event.error
        self.tool_calls += 1
        self.tools_denied += event.status == "denied"

    def _group(self, path: tuple[str, ...], t: float) -> _Node:
        node = self.root
        for part in path:
            node = node.child(part, escape(part), "group" if "parallel" in part or part.startswith(("do ", "call ")) else "branch", t)
        return node

    def render(self) -> RenderableType:
        tree = Tree(Text.from_markup(f"[bold]{self.root.label}[/]"))
        self._render_children(self.root, tree)
        parts: list[RenderableType] = [tree]
        footer = f"{plural(self.sessions_done, 'session')} done · {self.now:.1f}s"
        if self.tool_calls:
            denied = f", {self.tools_denied} denied" if self.tools_denied else ""
            footer += f" · {plural(self.tool_calls, 'tool call')}{denied}"
        parts.append(Text(footer, style="dim"))
        totals = self.totals_line()
        if totals is not None:
            parts.append(Text(totals, style="dim"))
        if self.simulated:
            parts.append(Text(SIMULATED_NOTE, style="yellow"))
        for message in self.warnings[-3:]:
            parts.append(Text(f"warning: {message}", style="yellow"))
        if self.final is not None:
            parts.append(self.summary(self.final))
        return Group(*parts)

    def _render_children(self, node: _Node, tree: Tree) -> None:
        finished = [k for k in node.order if node.children[k].ended is not None]
        hidden = set(finished[: max(0, len(finished) - self.max_finished)])
        if hidden:
            tree.add(Text(f"… {len(hidden)} earlier steps finished", style="dim"))
        for key in node.order:
            if key in hidden:
                continue
            child = node.children[key]
            status, ended = child.status, child.ended
            if child.kind == "judgement":
                tree.add(Text.from_markup(f"[magenta]◆[/] {child.label}", overflow="ellipsis"))
                continue
            if status is None and child.children:
                status, ended = _group_state(child)
            end = ended if ended is not None else self.now
            elapsed = max(0.0, end - child.started)
            mark = _STATUS_MARK.get(status, "?")
            style = _STATUS_STYLE.get(status, "white")
            extra = f"  {child.tokens} tok" if child.tokens else ""
            error = f"  [red]{escape(one_line(child.error, 60))}[/]" if child.error else ""
            if status == "cancelled" and not child.error:
                error = "  [yellow]cancelled[/]"
            label = f"[{style}]{mark}[/] {child.label}  [dim]{elapsed:.1f}s{extra}[/]{error}"
            branch = tree.add(Text.from_markup(label, overflow="ellipsis"))
            if child.children:
                self._render_children(child, branch)

    def summary(self, event: RunEvent) -> RenderableType:
        style = _STATUS_STYLE.get(event.status, "white")
        lines = [f"[{style}]run {event.status}[/] in {event.t:.2f}s"]
        if event.error:
            where = f" (line {event.span.start_row + 1})" if event.span is not None else ""
            lines.append(f"[red]error{where}: {event.error}[/]")
        if event.usage:
            lines.append(plural(int(event.usage.get("sessions", 0)), "session"))
            lines += [escape(line) for line in format_usage(event.usage)]
        if event.run_dir:
            lines.append(f"run directory: {event.run_dir}")
        body = Text.from_markup("\n".join(lines))
        renderables: list[RenderableType] = [body]
        for name, value in (event.outputs or {}).items():
            title = f"output {name}" + ("  (simulated placeholder)" if self.simulated else "")
            renderables.append(Panel(Text(shorten(value, self.max_output)), title=title, title_align="left"))
        return Group(*renderables)

    def plain_summary(self, event: RunEvent) -> str:
        """The end of a run as plain text: no markup, no boxes, outputs whole with their line breaks."""
        lines = [f"run {event.status} in {event.t:.2f}s"]
        if event.error:
            where = f" (line {event.span.start_row + 1})" if event.span is not None else ""
            lines.append(f"error{where}: {event.error}")
        if event.usage:
            lines.append(
                f"{plural(int(event.usage.get('sessions', 0)), 'session')}, tokens in/out: "
                f"{event.usage.get('input_tokens', 0)}/{event.usage.get('output_tokens', 0)}"
            )
            lines += format_usage(event.usage)
        if event.run_dir:
            lines.append(f"run directory: {event.run_dir}")
        if self.simulated:
            lines.append(SIMULATED_NOTE)
        for name, value in (event.outputs or {}).items():
            title = f"output {name}" + (" (simulated placeholder)" if self.simulated else "")
            lines += ["", f"--- {title} ---", shorten(value, self.max_output).rstrip("\n")]
        return "\n".join(lines) + "\n"


def _group_state(node: _Node) -> tuple[str | None, float | None]:
    """A parallel block or call is done when every child is; failed if any child failed."""
    states = []
    for child in node.children.values():
        status, ended = (child.status, child.ended) if child.status is not None or not child.children else _group_state(child)
        if ended is None:
            return None, None
        states.append((status, ended))
    if not states:
        return None, None
    statuses = {status for status, _ in states}
    # A race whose losers were cancelled still succeeded; only a block with nothing done is ⊘.
    status = "failed" if "failed" in statuses else "cancelled" if statuses == {"cancelled"} else "ok"
    return status, max(ended for _, ended in states)


def _cut_off(node: _Node, t: float) -> None:
    """After an interrupted run, whatever had not finished was cancelled, at every level."""
    for child in node.children.values():
        if child.kind == "judgement":
            continue
        # A block is unfinished when some step inside it is (sessions and tools end for themselves).
        was_open = child.status is None and child.ended is None and (
            child.kind in ("session", "tool") or not child.children or _group_state(child)[1] is None
        )
        if child.children:
            _cut_off(child, t)
        if was_open:
            child.ended, child.status = t, "cancelled"


def shorten(text: str, limit: int | None) -> str:
    """`text` whole, or cut to `limit` characters with a note saying how much is left out."""
    if limit is None or len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters; --output NAME prints an output whole]"


def plain_line(event: RunEvent) -> str | None:
    """One line of progress for logs and CI (stdout not a terminal), or None for events not worth a line."""
    where = " / ".join(event.path)
    at = f"  ({where})" if where else ""
    prefix = f"[{event.t:7.2f}s]"
    if event.type == "warning":
        return f"{prefix} warning: {event.error}"
    if event.type == "session.end":
        title = one_line(event.prompt or "", 70)
        bind = f"{event.binding} = " if event.binding else ""
        tail = f": {event.error}" if event.error else ""
        return f"{prefix} {event.status:9} {bind}{title}{at}{tail}"
    if event.type == "tool.end":
        rule = f" ({event.rule})" if event.status == "denied" and event.rule else ""
        return f"{prefix}   tool {event.tool} {event.status}{rule}: {event.summary or ''}"
    if event.type == "branch.end" and event.status != "ok":
        return f"{prefix} branch {where} {event.status}{': ' + event.error if event.error else ''}"
    if event.type == "condition":
        return f"{prefix} condition **{one_line(event.prompt or '', 70)}** -> {event.answer}{at}"
    if event.type == "choice":
        return f"{prefix} choice **{one_line(event.prompt or '', 60)}** -> {event.answer}{at}"
    return None


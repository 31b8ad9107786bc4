"""Live progress of a run for a person at a terminal.

The interpreter only emits events; this module folds them into a tree of
running sessions and parallel branches (with elapsed time and tokens) and
draws it with rich. Refreshing is driven by a trio task, not rich's own
refresh thread, so the runtime stays single-threaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from .accounting import format_usage
from .interpreter import RunEvent

_STATUS_STYLE = {"ok": "green", "failed": "red", "cancelled": "yellow", "error": "red", "denied": "magenta", None: "cyan"}
_STATUS_MARK = {"ok": "✓", "failed": "✗", "cancelled": "⊘", "error": "✗", "denied": "⊘", None: "…"}


@dataclass
class _Node:
    label: str
    kind: str  # "group" | "branch" | "session"
    started: float
    ended: float | None = None
    status: str | None = None
    error: str | None = None
    tokens: int = 0
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

    def __init__(self, program: str, max_finished: int = 12) -> None:
        self.program = program
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
            node = parent.child(label, label, "branch", event.t)
            if event.type == "branch.end":
                node.ended, node.status, node.error = event.t, event.status, event.error
        elif event.type == "session.start":
            parent = self._group(event.path, event.t)
            self._seq += 1
            key = f"s{self._seq}"
            title = escape(_short(event.prompt or "session"))
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
            self._decision(event)
        elif event.type == "warning" and event.error:
            self.warnings.append(event.error)
        elif event.type == "run.end":
            self.final = event

    def _note_totals(self, event: RunEvent) -> None:
        if event.totals is not None:
            self.totals = event.totals
        elif event.type == "run.end" and event.usage:
            self.totals = event.usage

    def _decision(self, event: RunEvent) -> None:
        """A condition or choice as a finished step: its answer and the judge's reason."""
        parent = self._group(event.path, event.t)
        self._seq += 1
        kind = "condition" if event.type == "condition" else "choice"
        answer = f"→ [bold]{escape(event.answer or '?')}[/]"
        reason = f"  [dim italic]{escape(_short(event.reason, 80))}[/]" if event.reason else ""
        node = parent.child(f"d{self._seq}", f"{kind} **{escape(_short(event.prompt, 50))}** {answer}{reason}",
                            "decision", event.t)
        node.ended, node.status = event.t, "ok"
        if event.usage:
            node.tokens = sum(int(v) for v in event.usage.values())

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
        label = f"{event.tool} [dim]{escape(_short(event.summary, 60))}[/]"
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
            node = node.child(part, part, "group" if "parallel" in part or part.startswith(("do ", "call ")) else "branch", t)
        return node

    def render(self) -> RenderableType:
        tree = Tree(Text.from_markup(f"[bold]{self.root.label}[/]"))
        self._render_children(self.root, tree)
        parts: list[RenderableType] = [tree]
        footer = f"{self.sessions_done} sessions done · {self.now:.1f}s"
        if self.tool_calls:
            denied = f", {self.tools_denied} denied" if self.tools_denied else ""
            footer += f" · {self.tool_calls} tool call{'s' if self.tool_calls != 1 else ''}{denied}"
        parts.append(Text(footer, style="dim"))
        totals = self.totals_line()
        if totals is not None:
            parts.append(Text(totals, style="dim"))
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
            if status is None and child.children:
                status, ended = _group_state(child)
            end = ended if ended is not None else self.now
            elapsed = max(0.0, end - child.started)
            mark = _STATUS_MARK.get(status, "?")
            style = _STATUS_STYLE.get(status, "white")
            extra = f"  {child.tokens} tok" if child.tokens else ""
            error = f"  [red]{escape(_short(child.error, 60))}[/]" if child.error else ""
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
            lines.append(f"sessions: {event.usage.get('sessions', 0)}")
            lines += [escape(line) for line in format_usage(event.usage)]
        if event.run_dir:
            lines.append(f"run directory: {event.run_dir}")
        body = Text.from_markup("\n".join(lines))
        renderables: list[RenderableType] = [body]
        for name, value in (event.outputs or {}).items():
            renderables.append(Panel(Text(_short(value, 2000)), title=f"output {name}", title_align="left"))
        return Group(*renderables)


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
    status = "failed" if "failed" in statuses else "ok"
    return status, max(ended for _, ended in states)


def _short(text: str | None, limit: int = 70) -> str:
    one = " ".join((text or "").split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


"""Validation rules over the program model.

Every code comes from the table in `codes` (which also generates
docs/diagnostics.md). The rules are one walk over the model, so a check on an
expression applies wherever the expression appears. Each diagnostic points at
the narrowest span that explains it and, when the fix is obvious, carries it
as an edit.
"""

from __future__ import annotations

import difflib
from collections import OrderedDict
import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import codes
from . import model as m
from . import walk
from .codes import Code
from .diagnostics import Diagnostic, Fix, Related, Span, TextEdit
from .language import BACKOFFS, PERMISSION_TYPES, PERMISSION_VALUES, POLICIES, STRATEGIES
from .language import join_policy, permission_rules, persist_of, retry_policy, skills_of
from .resolve import READONLY_KINDS, Reference, Resolution, Role, Scope, Symbol, SymbolKind, resolve
from .walk import Visitor, Walker

MODELS = ("sonnet", "opus", "haiku")
MODIFIER_KEYS = ("on-fail", "count")
PIPE_OPERATORS = ("map", "filter", "reduce", "pmap")
AGENT_PROPERTIES = ("model", "prompt", "persist", "context", "retry", "backoff", "skills", "permissions", "max_tokens",
                    "effort")
SESSION_PROPERTIES = ("model", "prompt", "context", "retry", "backoff", "skills", "permissions", "max_tokens", "effort")
#: Thinking effort levels (runtime/openprose/backends/config.py EFFORT_LEVELS).
EFFORT_VALUES = ("none", "low", "medium", "high")
MAX_PROMPT = 10_000
MAX_RETRY = 10

_REGISTRY_PATH = re.compile(r"^@[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_URL_PATH = re.compile(r"^https?://\S+$")
_IMPORT_SOURCE = re.compile(r"^(github:|npm:|https?://|\./|\.\./|/|~/|@)")


#: Properties that may be followed by an indented block (`key: value` lines) instead of a value.
_BLOCK_PROPERTIES = frozenset({"permissions", "context", "prompt"})


def is_local_program_path(path: str) -> bool:
    return path.endswith(".prose") and not _URL_PATH.match(path)


def is_remote_program_path(path: str) -> bool:
    return bool(_REGISTRY_PATH.match(path) or _URL_PATH.match(path))


@dataclass(frozen=True)
class Contract:
    """What a local program declares to its callers."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    path: str


#: Answers of `closest` for the last few candidate lists: a broken program has hundreds of
#: unknown names, asked about again on every keystroke, against the same names in scope.
_CLOSEST: OrderedDict[tuple[str, ...], dict[str, str | None]] = OrderedDict()
_CLOSEST_LISTS = 8
_CLOSEST_WORDS = 4096


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The most similar candidate, if any is similar enough to suggest.

    A ratio of at least 0.5 needs the longer string to be at most three times
    the shorter one, so other candidates are dropped before difflib compares
    the rest (a program may have thousands of names).
    """
    names = tuple(candidates)
    memo = _CLOSEST.get(names)
    if memo is None:
        memo = _CLOSEST[names] = {}
        if len(_CLOSEST) > _CLOSEST_LISTS:
            _CLOSEST.popitem(last=False)
    else:
        _CLOSEST.move_to_end(names)
    if word in memo:
        return memo[word]
    if len(memo) >= _CLOSEST_WORDS:
        memo.clear()
    size = len(word)
    near = [c for c in names if len(c) <= 3 * size and size <= 3 * len(c)]
    matches = difflib.get_close_matches(word, near, n=1, cutoff=0.5)
    memo[word] = found = matches[0] if matches else None
    return found


def _replace(span: Span, text: str, title: str) -> Fix:
    return Fix(title, (TextEdit(span, text),))


def _suggest(word: str, candidates: Iterable[str], span: Span | None) -> tuple[str, tuple[Fix, ...]]:
    """A "did you mean" hint for a message and the matching quick fix, if a close name exists."""
    near = closest(word, candidates)
    if near is None:
        return "", ()
    fixes = (_replace(span, near, f"Change to '{near}'"),) if span is not None else ()
    return f"; did you mean '{near}'?", fixes


class _Checker(Walker):
    """The rules, as a walk over the model: every expression is checked wherever it appears.

    `visit(node, in_block)` carries whether the node sits inside a block
    definition; `concurrent` counts the parallel bodies around it.
    """

    def __init__(self, program: m.Program, resolution: Resolution, contracts: dict[str, Contract]) -> None:
        self.top = program
        self.res = resolution
        self.contracts = contracts
        self.out: list[Diagnostic] = []
        self.concurrent = 0  # depth of parallel bodies around the statement being checked
        self.imported: dict[str, m.Use] = {}

    # ---------------------------------------------------------------- emit

    def report(self, code: Code, message: str, span: Span, *, fixes: tuple[Fix, ...] = (),
               related: tuple[Related, ...] = ()) -> None:
        self.out.append(code.at(span, message, related=related, fixes=fixes))

    # ----------------------------------------------------------- top level

    def run(self) -> list[Diagnostic]:
        self.visit(self.top, False)
        self.references()
        return self.out

    def program(self, node: m.Program, in_block: bool) -> None:
        outputs: dict[str, m.Output] = {}
        for stmt in node.body:
            self.output_once(stmt, outputs)
            self.statement(stmt)

    def statement(self, stmt: m.Stmt) -> None:
        """One top-level statement.

        What it reports depends only on the statement and on what it reads
        through the accessors below (`agent`, `block`, `contract`, …), so
        `incremental` can reuse it while those answers stay the same.
        """
        self.visit(stmt, False)

    # ------------------------------------------- whole-program reads

    def has_agent(self, name: str) -> bool:
        return name in self.res.agents

    def agent(self, name: str) -> Symbol | None:
        return self.res.agents.get(name)

    def agent_names(self) -> tuple[str, ...]:
        return tuple(self.res.agents)

    def block(self, name: str) -> Symbol | None:
        return self.res.blocks.get(name)

    def has_skill(self, name: str) -> bool:
        return name in self.res.skills

    def contract(self, name: str) -> Contract | None:
        return self.contracts.get(name)

    def import_(self, stmt: m.Import, in_block: bool) -> None:
        source = stmt.source.text
        if not _IMPORT_SOURCE.match(source):
            self.report(
                codes.W006,
                f"unrecognised skill source '{source}': expected github:…, npm:…, a URL or a relative path",
                stmt.source.span,
            )

    def use(self, stmt: m.Use, in_block: bool) -> None:
        path = stmt.path.text
        if not path.strip():
            self.report(codes.E011, "`use` needs a program path, such as \"@handle/slug\" or \"./other.prose\"", stmt.path.span)
            return
        seen = self.imported
        if path in seen:
            self.report(
                codes.E010,
                f"'{path}' is already imported",
                stmt.path.span,
                related=(Related("first imported here", seen[path].path.span),),
            )
            return
        seen[path] = stmt
        if is_local_program_path(path):
            return
        if is_remote_program_path(path):
            self.report(
                codes.W111,
                f"'{path}' is fetched from the registry at run time; its inputs and outputs cannot be checked offline",
                stmt.path.span,
            )
        else:
            self.report(
                codes.E012,
                f"'{path}' is not a program path: use \"@handle/slug\", a URL, or a relative path to a .prose file",
                stmt.path.span,
            )

    def body(self, stmts: tuple[m.Stmt, ...], *, in_block: bool) -> None:
        """A statement list: its own rules (one value per output), then each statement."""
        outputs: dict[str, m.Output] = {}
        for stmt in stmts:
            self.output_once(stmt, outputs)
            self.visit(stmt, in_block)

    def output_once(self, stmt: m.Stmt, outputs: dict[str, m.Output]) -> None:
        """E024: a statement list sets each output once (`outputs` holds those set so far)."""
        if isinstance(stmt, m.Output) and stmt.name is not None:
            first = outputs.get(stmt.name.name)
            if first is not None:
                self.report(
                    codes.E024,
                    f"output '{stmt.name.name}' is already set in this body; the first value would be lost",
                    stmt.name.span,
                    related=(Related("first set here", first.name.span),),  # type: ignore[union-attr]
                )
            else:
                outputs[stmt.name.name] = stmt

    # ---------------------------------------------------------- statements

    def block_def(self, stmt: m.BlockDef, in_block: bool) -> None:
        if not stmt.body:
            self.report(codes.W106, f"block '{stmt.name.name}' has an empty body", stmt.name.span)
        self.body(stmt.body, in_block=True)

    def let(self, stmt: m.Let, in_block: bool) -> None:
        self.descend(stmt, in_block)
        if stmt.destructure and isinstance(stmt.value, m.Call):
            contract = self.contract(stmt.value.function.name)
            if contract is not None:
                for name in stmt.names:
                    if name.name not in contract.outputs:
                        self.report(
                            codes.E028,
                            f"'{stmt.value.function.name}' has no output '{name.name}' "
                            f"(outputs: {', '.join(contract.outputs) or 'none'})",
                            name.span,
                        )

    def expr_stmt(self, stmt: m.ExprStmt, in_block: bool) -> None:
        self.visit(stmt.expr, in_block)
        if isinstance(stmt.expr, (m.Str, m.Number, m.Literal)):
            span = stmt.expr.span
            at = Span(span.start_byte, span.start_byte, span.start_row, span.start_col, span.start_row, span.start_col)
            self.report(
                codes.W115,
                "a value on its own line does nothing; did you mean a session (`session \"…\"`)?",
                span,
                fixes=(_replace(at, "session ", "Make it a session"),) if isinstance(stmt.expr, m.Str) else (),
            )

    def throw(self, stmt: m.Throw, in_block: bool) -> None:
        if stmt.message is not None and not stmt.message.text.strip():
            self.report(codes.W107, "throw message is empty; say what went wrong", stmt.message.span)
        self.descend(stmt, in_block)

    def assert_(self, stmt: m.Assert, in_block: bool) -> None:
        self.descend(stmt, in_block)
        if stmt.message is not None and not stmt.message.text.strip():
            self.report(codes.W107, "assert message is empty; say what went wrong", stmt.message.span)

    def orphan(self, stmt: m.Orphan, in_block: bool) -> None:
        opener = {"elif": "if", "else": "if", "catch": "try", "finally": "try", "option": "choice"}[stmt.keyword]
        self.report(
            codes.E104,
            f"'{stmt.keyword}' must follow {'an' if opener == 'if' else 'a'} '{opener}' block at the same indentation",
            stmt.keyword_span,
        )
        self.body(stmt.body, in_block=in_block)

    def input(self, stmt: m.Input, in_block: bool) -> None:
        if in_block or self.concurrent:
            where = "a block definition" if in_block else "a parallel branch"
            self.report(
                codes.E022,
                f"input '{stmt.name.name}' cannot be declared inside {where}; "
                "declare it at the program level (blocks take parameters instead)",
                stmt.name.span,
            )
        # The description is text for the caller, not a condition: it is not checked as one.
        desc = stmt.description
        if desc is None or (isinstance(desc, m.Str) and not desc.text.strip()) or (
            isinstance(desc, m.Condition) and not desc.text
        ):
            self.report(codes.W110, f"input '{stmt.name.name}' has no description; say what the caller should provide", stmt.name.span)

    def agent_def(self, stmt: m.AgentDef, in_block: bool) -> None:
        for prop in stmt.properties:
            if prop.bare:
                self.report(
                    codes.E004,
                    "a bare string in an agent: write its system prompt as `prompt: \"…\"`",
                    prop.span,
                    fixes=(_replace(Span(prop.span.start_byte, prop.span.start_byte, prop.span.start_row,
                                         prop.span.start_col, prop.span.start_row, prop.span.start_col),
                                    "prompt: ", "Make it `prompt:`"),),
                )
        self.properties(tuple(p for p in stmt.properties if not p.bare), AGENT_PROPERTIES, owner="agent",
                        in_block=in_block)
        for problem in persist_of(stmt.property("persist"))[1]:
            self.report(codes.E116, 'persist must be true, project, user or a "path" string', problem.span)
        for key in ("retry", "backoff"):
            prop = stmt.property(key)
            if prop is not None:
                self.report(
                    codes.W109,
                    f"'{key}' on an agent has no effect; put it on the sessions that should retry",
                    prop.key_span,
                )

    def try_(self, stmt: m.Try, in_block: bool) -> None:
        if stmt.catch is None and stmt.finally_ is None:
            self.report(codes.E105, "try needs a `catch:` or a `finally:` after its body", stmt.keyword_span)
        if not stmt.body:
            self.report(codes.W106, "try has an empty body", stmt.keyword_span)
        self.body(stmt.body, in_block=in_block)
        # `catch:` and `finally:` may be empty (nothing to recover, nothing to clean up): not W106.
        if stmt.catch is not None:
            self.body(stmt.catch.body, in_block=in_block)
        if stmt.finally_ is not None:
            self.body(stmt.finally_.body, in_block=in_block)

    def branch(self, branch: m.Branch, in_block: bool) -> None:
        if branch.condition is not None:
            self.visit(branch.condition, in_block)
        if not branch.body:
            self.report(codes.W106, "this branch has an empty body", branch.keyword_span)
        self.body(branch.body, in_block=in_block)

    def condition(self, cond: m.Condition, in_block: bool) -> None:
        if not cond.text:
            self.report(codes.E108, "the condition is empty; describe what should be true", cond.span)
        elif len(cond.text) < 3:
            self.report(codes.W102, f"the condition '{cond.text}' is very short and may be judged unpredictably", cond.span)
        self.descend(cond, in_block)

    def choice(self, stmt: m.Choice, in_block: bool) -> None:
        self.visit(stmt.criteria, in_block)
        if not stmt.options:
            self.report(codes.E109, "choice needs at least one `option \"label\":`", stmt.criteria.span)
        labels: dict[str, m.Option] = {}
        for option in stmt.options:
            label = option.label.text
            if label in labels:
                self.report(
                    codes.W105,
                    f"option '{label}' appears twice",
                    option.label.span,
                    related=(Related("first option with this label", labels[label].label.span),),
                )
            labels.setdefault(label, option)
            self.visit(option, in_block)
        for stray in stmt.stray:
            self.report(codes.E104, "only `option \"label\":` entries may appear directly inside a choice", stray.span)

    def option(self, option: m.Option, in_block: bool) -> None:
        if not option.body:
            self.report(codes.W106, f"option '{option.label.text}' has an empty body", option.label.span)
        self.body(option.body, in_block=in_block)

    # --------------------------------------------------------- expressions

    def unknown(self, e: m.Unknown, in_block: bool) -> None:
        if e.type == "missing":
            self.report(codes.E005, "expected a value here", e.span)

    def do_block(self, e: m.DoBlock, in_block: bool) -> None:
        if not e.body:
            self.report(codes.W106, "`do:` has an empty body", e.span)
        self.body(e.body, in_block=in_block)

    def for_loop(self, e: m.ForLoop, in_block: bool) -> None:
        self.visit(e.collection, in_block)
        if e.modifiers:
            self.join_modifiers(e.modifiers, branches=None)
        for mod in e.modifiers:
            self.visit(mod, in_block)
        self.concurrent += e.parallel
        self.body(e.body, in_block=in_block)
        self.concurrent -= e.parallel

    def repeat(self, e: m.Repeat, in_block: bool) -> None:
        if isinstance(e.count, m.Number) and (not e.count.is_integer or e.count.value < 1):
            self.report(codes.E106, "repeat count must be a whole number of at least 1", e.count.span)
        elif isinstance(e.count, m.Unary) and e.count.operator == "-":
            self.report(codes.E106, "repeat count must be a whole number of at least 1", e.count.span)
        self.visit(e.count, in_block)
        self.body(e.body, in_block=in_block)

    def pipeline(self, e: m.Pipeline, in_block: bool) -> None:
        self.visit(e.input, in_block)
        for stage in e.stages:
            self.visit(stage, in_block)

    def session(self, s: m.Session, in_block: bool) -> None:
        prompt_prop = s.property("prompt")
        if prompt_prop is not None and prompt_prop.bare and s.prompt is not None:
            self.report(
                codes.E009,
                "this session already has a prompt on its first line; a second prompt string is not allowed",
                prompt_prop.span,
            )
        if s.kind == "session" and s.prompt is None and s.agent is None and prompt_prop is None:
            self.report(codes.E003, "session needs a prompt (\"…\" or `prompt:`) or an agent (`session: agent`)", s.keyword_span)
        if s.prompt is not None:
            self.prompt_text(s.prompt, inline=True)
            self.visit(s.prompt, in_block)
        self.properties(s.properties, SESSION_PROPERTIES, owner=s.kind, in_block=in_block)
        if s.agent is not None:
            if not self.has_agent(s.agent.name):
                self.undefined_agent(s.agent)
            elif s.kind == "resume":
                decl = self.agent(s.agent.name).decl  # type: ignore[union-attr]
                if isinstance(decl, m.AgentDef) and decl.property("persist") is None:
                    self.report(
                        codes.E017,
                        f"resume needs a persistent agent, but '{s.agent.name}' has no `persist:`",
                        s.agent.span,
                        related=(Related(f"agent '{s.agent.name}' defined here", decl.name.span),),
                        fixes=(
                            Fix(
                                f"Add `persist: true` to agent '{s.agent.name}'",
                                (TextEdit(_insert_after(decl.name.span, decl), "\n  persist: true"),),
                            ),
                        ),
                    )

    def used_before_bound(self, ref: Reference, agents: list[Span]) -> None:
        """E101 (W113 inside text) for a name read before the statement that binds it.

        Not when the read can run later than it is written: inside a block
        definition (it runs when called), an agent definition (its context is
        read by the session that uses it), or a loop body that also contains
        the binding (later iterations see it).
        """
        sym = ref.symbol
        assert sym is not None
        if sym.kind not in _ORDERED_KINDS or sym.implicit:
            return
        first = min([sym.span.start_byte, *(span.start_byte for span in sym.other_definitions)])
        at = ref.span.start_byte
        if at >= first or any(span.start_byte <= at < span.end_byte for span in agents):
            return
        scope: Scope | None = ref.scope
        while scope is not None and scope is not sym.scope:
            if scope.kind == "block" or (scope.kind == "body" and scope.span.start_byte <= first < scope.span.end_byte):
                return
            scope = scope.parent
        line = sym.span.start_row + 1
        self.unbound(ref, f"'{{{ref.name}}}' is bound only later, on line {line}; here it is sent as written",
                     f"'{ref.name}' is used before it is bound on line {line}",
                     related=(Related(f"'{ref.name}' is bound here", sym.span),))

    def unbound(self, ref: Reference, in_text: str, as_value: str, *, related: tuple[Related, ...] = (),
                fixes: tuple[Fix, ...] = ()) -> None:
        """A name with no binding (yet): W113 inside text, which is sent as written; E101 as a value."""
        if ref.in_string:
            # Braces in prose are often literal placeholders; the runtime
            # leaves an unknown {name} as written, so this is a warning.
            self.report(codes.W113, in_text, ref.span, related=related, fixes=fixes)
        else:
            self.report(codes.E101, as_value, ref.span, related=related, fixes=fixes)

    def undefined_agent(self, name: m.Name) -> None:
        fixes: list[Fix] = []
        near = closest(name.name, self.agent_names())
        if near is not None:
            fixes.append(_replace(name.span, near, f"Change to '{near}'"))
        fixes.append(
            Fix(
                f"Define agent '{name.name}'",
                (TextEdit(self.definition_insertion_point(), f"agent {name.name}:\n  model: sonnet\n  prompt: \"\"\n\n"),),
            )
        )
        hint = f"; did you mean '{near}'?" if near else ""
        self.report(codes.E007, f"agent '{name.name}' is not defined{hint}", name.span, fixes=tuple(fixes))

    def definition_insertion_point(self) -> Span:
        """Where a new agent definition goes: after imports and inputs, before other statements."""
        offset, row = 0, 0
        for stmt in self.top.body:
            if isinstance(stmt, (m.Use, m.Import, m.Input, m.AgentDef)):
                continue
            offset, row = stmt.span.start_byte, stmt.span.start_row
            break
        else:
            offset, row = self.top.span.end_byte, self.top.span.end_row
            source = self.top.source
            if source and not source.endswith(b"\n"):
                return Span(offset, offset, row, self.top.span.end_col, row, self.top.span.end_col)
        return Span(offset, offset, row, 0, row, 0)

    def prompt_text(self, text: m.Str, *, inline: bool) -> None:
        if not text.text:
            if inline:
                self.report(codes.W001, "the session prompt is empty", text.span)
            else:
                self.report(codes.W004, "the prompt property is empty", text.span)
        elif not text.text.strip():
            self.report(codes.W002, "the session prompt contains only whitespace", text.span)
        elif len(text.text) > MAX_PROMPT:
            self.report(
                codes.W003,
                f"the prompt is {len(text.text):,} characters long; consider splitting the task into smaller sessions",
                text.span,
            )

    def properties(self, props: tuple[m.Property, ...], allowed: tuple[str, ...], *, owner: str,
                   in_block: bool) -> None:
        """The rules of an agent's or a session's properties; then their values, checked like any expression."""
        seen: dict[str, m.Property] = {}
        for prop in props:
            self.property_rules(prop, seen, allowed, owner)
            self.visit(prop, in_block)

    def property_rules(self, prop: m.Property, seen: dict[str, m.Property], allowed: tuple[str, ...],
                       owner: str) -> None:
        if prop.key in seen:
            self.report(
                codes.E009,
                f"property '{prop.key}' is already set",
                prop.key_span,
                related=(Related("first set here", seen[prop.key].key_span),),
            )
        seen.setdefault(prop.key, prop)
        if prop.key not in allowed:
            hint, fixes = _suggest(prop.key, allowed, prop.key_span)
            self.report(codes.W005, f"unknown {owner} property '{prop.key}'{hint}", prop.key_span, fixes=fixes)
            return
        if prop.value is None and not prop.has_block:
            self.report(codes.E005, f"property '{prop.key}' needs a value", prop.key_span)
            return
        if prop.value is None and prop.key not in _BLOCK_PROPERTIES:
            # `model:` followed by an indented block: the value handlers below need a value.
            self.report(codes.E005, f"property '{prop.key}' needs a value on its own line, not an indented block",
                       prop.key_span)
            return
        if prop.key != "permissions":
            self.nested_values(prop.children)
        getattr(self, "prop_" + prop.key, lambda p: None)(prop)

    def nested_values(self, props: tuple[m.Property, ...]) -> None:
        """Entries under a property (`context:` with `file: "…"` below) need values too."""
        for prop in props:
            if prop.value is None and not prop.has_block:
                self.report(codes.E005, f"'{prop.key}' needs a value", prop.key_span)
            self.nested_values(prop.children)

    def prop_model(self, prop: m.Property) -> None:
        value = prop.value
        text = m.word(value)
        if text is None:
            self.report(codes.E008, "model must be sonnet, opus or haiku", prop.value.span)  # type: ignore[union-attr]
            return
        if text in MODELS or text.startswith("claude-"):
            return
        near = closest(text, MODELS)
        self.report(
            codes.E008,
            f"unknown model '{text}': use sonnet, opus or haiku" + (f" (did you mean '{near}'?)" if near else ""),
            value.span,  # type: ignore[union-attr]
            fixes=(_replace(value.span, near, f"Change to '{near}'"),) if near else (),  # type: ignore[union-attr]
        )

    def prop_prompt(self, prop: m.Property) -> None:
        if isinstance(prop.value, m.Str):
            self.prompt_text(prop.value, inline=False)

    def prop_retry(self, prop: m.Property) -> None:
        value = prop.value
        problems = [p for p in retry_policy(prop, None)[1] if p.kind == "bad-retry"]
        for problem in problems:
            self.report(codes.E110, "retry must be a whole number of at least 1", problem.span)
        if not problems and isinstance(value, m.Number) and value.value > MAX_RETRY:
            self.report(codes.W108, f"retry {value.text} is unusually high", value.span)

    def prop_max_tokens(self, prop: m.Property) -> None:
        value = prop.value
        if isinstance(value, m.Number) and value.is_integer and value.value >= 1:
            return
        self.report(codes.E120, "max_tokens must be a whole number of tokens, at least 1", value.span)  # type: ignore[union-attr]

    def prop_effort(self, prop: m.Property) -> None:
        value = prop.value
        if m.word(value) in EFFORT_VALUES:
            return
        hint, fixes = _suggest(m.word(value) or "", EFFORT_VALUES, value.span)  # type: ignore[union-attr]
        self.report(codes.E121, f"effort must be one of {', '.join(EFFORT_VALUES)}{hint}", value.span,  # type: ignore[union-attr]
                   fixes=fixes)

    def prop_backoff(self, prop: m.Property) -> None:
        for problem in retry_policy(None, prop)[1]:
            value = problem.node
            near = closest(m.word(value) or "", BACKOFFS)
            self.report(
                codes.E111,
                "backoff must be none, linear or exponential",
                problem.span,
                fixes=(_replace(problem.span, near, f"Change to '{near}'"),) if near and isinstance(value, m.Name) else (),
            )

    def prop_context(self, prop: m.Property) -> None:
        value = prop.value
        if isinstance(value, m.Array):
            for item in value.items:
                if not isinstance(item, (m.Name, m.Member)):
                    self.report(codes.E115, "context entries must be names of bindings", item.span)  # type: ignore[union-attr]

    def prop_skills(self, prop: m.Property) -> None:
        skills, problems = skills_of(prop)
        for problem in problems:
            if problem.kind == "skills-not-array":
                self.report(codes.E013, 'skills must be an array of names, such as ["web-search"]', problem.span)
            elif problem.kind == "skills-empty":
                self.report(codes.W010, "skills is empty", problem.span)
            else:
                self.report(codes.E014, "each skill must be a string", problem.span)
        for name, span in zip(skills.names, skills.spans):
            if not self.has_skill(name):
                self.report(
                    codes.W007,
                    f"skill '{name}' is not imported; add `use \"@handle/{name}\"` "
                    f"(or `import \"{name}\" from \"…\"`)",
                    span,
                )

    def prop_permissions(self, prop: m.Property) -> None:
        for problem in permission_rules(prop)[1]:
            node = problem.node
            if problem.kind == "permissions-not-block":
                self.report(codes.E015, "permissions must be an indented block of `type: value` lines", problem.span)
            elif problem.kind == "duplicate-permission":
                self.report(codes.E009, f"permission '{node.key}' is already set", problem.span)
            elif problem.kind == "unknown-permission":
                hint, fixes = _suggest(node.key, PERMISSION_TYPES, problem.span)
                self.report(codes.W008, f"unknown permission type '{node.key}'{hint}", problem.span, fixes=fixes)
            elif problem.kind == "bad-pattern":
                self.report(codes.E016, "permission patterns must be strings (or names of string bindings)", problem.span)
            elif problem.kind == "unknown-permission-value":
                text = m.word(node) or ""
                near = closest(text, PERMISSION_VALUES)
                self.report(
                    codes.W009,
                    f"unknown permission value '{text}': use allow, deny, prompt or a list of patterns",
                    problem.span,
                    fixes=(_replace(problem.span, near, f"Change to '{near}'"),) if near and isinstance(node, m.Name) else (),
                )
            else:
                self.report(codes.E005, f"permission '{node.key}' needs a value", problem.span)

    # ------------------------------------------------------------ parallel

    def parallel(self, p: m.Parallel, in_block: bool) -> None:
        if not p.body and not p.unclosed:
            self.report(codes.P007, "a parallel block needs at least one branch", p.keyword_span)
        self.join_modifiers(p.modifiers, branches=len(p.body))
        for mod in p.modifiers:
            self.visit(mod, in_block)
        self.branch_races(p.body)
        self.concurrent += 1
        self.body(p.body, in_block=in_block)
        self.concurrent -= 1

    def branch_races(self, branches: tuple[m.Stmt, ...]) -> None:
        """P010: two branches of one parallel block binding the same name race."""
        first: dict[str, m.Name] = {}
        for branch in branches:
            mine: dict[str, m.Name] = {}
            for name in _bound_names(branch):
                mine.setdefault(name.name, name)
            for key, name in mine.items():
                earlier = first.get(key)
                if earlier is not None:
                    self.report(
                        codes.P010,
                        f"'{key}' is also bound by another branch of this parallel block; "
                        "branches run at the same time, so which value is kept would be a race",
                        name.span,
                        related=(Related("also bound here", earlier.span),),
                    )
                else:
                    first[key] = name

    def join_modifiers(self, modifiers: tuple[m.Modifier, ...], *, branches: int | None) -> None:
        """Strategy, on-fail and count of a parallel block or `parallel for` (branches unknown)."""
        for problem in join_policy(modifiers, branches)[1]:
            mod = problem.node
            if problem.kind == "unknown-strategy":
                self.unknown_choice(codes.P001, "join strategy", mod, STRATEGIES)
            elif problem.kind == "missing-policy":
                self.report(codes.P009, "on-fail needs a policy: fail-fast, continue or ignore", problem.span)
            elif problem.kind == "unknown-policy":
                self.unknown_choice(codes.P002, "on-fail policy", mod, POLICIES)
            elif problem.kind == "missing-count":
                self.report(codes.P009, "count needs a number", problem.span)
            elif problem.kind == "bad-count":
                self.report(codes.P005, "count must be a whole number of at least 1", problem.span)
            elif problem.kind == "unknown-modifier":
                _, fixes = _suggest(mod.key, MODIFIER_KEYS, problem.span)
                self.report(codes.P008, f"unknown parallel modifier '{mod.key}'; expected on-fail or count", problem.span,
                            fixes=fixes)
            elif problem.kind == "duplicate-modifier":
                self.report(
                    codes.P003,
                    "duplicate modifier: a parallel block takes one join strategy, one on-fail and one count",
                    problem.span,
                    related=(Related("first given here", problem.first),),
                )
            elif problem.kind == "count-without-any":
                self.report(codes.P004, "count only applies to the any strategy: write `parallel (any, count: N):`",
                            problem.span)
            elif problem.kind == "count-exceeds-branches":
                n = int(mod.value)
                self.report(
                    codes.P006,
                    f"count {n} is more than the {branches} branch{'es' if branches != 1 else ''}; the block can never succeed",
                    problem.span,
                )
            # "too-large" is no mistake in the program: a run fails on it (P006 already says it can never succeed).

    def unknown_choice(self, code: Code, what: str, mod: m.Modifier, known: tuple[str, ...]) -> None:
        span = mod.value_span or mod.span
        value = mod.value or ""
        near = closest(value, known)
        fixes: tuple[Fix, ...] = ()
        if near is not None:
            replacement = f'"{near}"' if mod.quoted else near
            fixes = (_replace(span, replacement, f"Change to '{near}'"),)
        self.report(
            code,
            f"unknown {what} '{value}'" + (f"; did you mean '{near}'?" if near else "")
            + f" (expected {', '.join(known)})",
            span,
            fixes=fixes,
        )

    # -------------------------------------------------------------- loops

    def loop(self, loop: m.Loop, in_block: bool) -> None:
        has_max = False
        for mod in loop.modifiers:
            self.visit(mod, in_block)
            if mod.key != "max":
                self.report(codes.E107, "loops take only `(max: N)`", mod.span)
                continue
            has_max = True
            if mod.value is None or mod.value_kind != "number" or "." in mod.value or int(mod.value) < 1:
                self.report(codes.E107, "max must be a whole number of at least 1", mod.value_span or mod.span)
        if loop.condition is not None:
            self.visit(loop.condition, in_block)
        elif not has_max:
            self.report(
                codes.W101,
                "this loop has no condition and no (max: N); it will run until the program is stopped",
                loop.keyword_span,
                fixes=(
                    Fix(
                        "Add (max: 10)",
                        (TextEdit(Span(loop.keyword_span.end_byte, loop.keyword_span.end_byte, loop.keyword_span.end_row, loop.keyword_span.end_col, loop.keyword_span.end_row, loop.keyword_span.end_col), " (max: 10)"),),
                    ),
                ),
            )
        if not loop.body:
            self.report(codes.W106, "loop has an empty body", loop.keyword_span)
        self.body(loop.body, in_block=in_block)

    def pipe_stage(self, stage: m.PipeStage, in_block: bool) -> None:
        if stage.operator not in PIPE_OPERATORS:
            _, fixes = _suggest(stage.operator, PIPE_OPERATORS, stage.operator_span)
            self.report(
                codes.E114,
                f"unknown pipeline operation '{stage.operator}': use map, filter, reduce or pmap",
                stage.operator_span,
                fixes=fixes,
            )
        elif stage.operator == "reduce":
            if stage.parameters is None or len(stage.parameters) != 2:
                self.report(codes.E114, "reduce needs two names: `| reduce(accumulator, item):`", stage.operator_span)
        elif stage.parameters is not None:
            self.report(codes.E114, f"{stage.operator} takes no parameters; the current element is `item`", stage.operator_span)
        concurrent = stage.operator == "pmap"
        self.concurrent += concurrent
        self.body(stage.body, in_block=in_block)
        self.concurrent -= concurrent

    # ------------------------------------------------------------- calls

    def do_call(self, call: m.DoCall, in_block: bool) -> None:
        for arg in call.arguments:
            self.visit(arg, in_block)
        sym = self.block(call.block.name)
        if sym is None:
            return  # reported with the other unresolved references
        decl = sym.decl
        if isinstance(decl, m.BlockDef) and len(decl.parameters) != len(call.arguments):
            expected = len(decl.parameters)
            self.report(
                codes.W104,
                f"block '{call.block.name}' takes {expected} argument{'s' if expected != 1 else ''} "
                f"but is given {len(call.arguments)}",
                call.span,
                related=(Related("block defined here", decl.name.span),),
            )

    def call(self, call: m.Call, in_block: bool) -> None:
        for arg in call.arguments:
            self.visit(arg, in_block)
        contract = self.contract(call.function.name)
        if contract is None:
            return
        given = {arg.name for arg in call.arguments if arg.name}
        for arg in call.arguments:
            if arg.name is not None and arg.name not in contract.inputs:
                near = closest(arg.name, contract.inputs)
                self.report(
                    codes.E027,
                    f"'{call.function.name}' has no input '{arg.name}'"
                    + (f"; did you mean '{near}'?" if near else f" (inputs: {', '.join(contract.inputs) or 'none'})"),
                    arg.name_span or arg.span,
                    fixes=(_replace(arg.name_span, near, f"Change to '{near}'"),) if near and arg.name_span else (),
                )
        missing = [name for name in contract.inputs if name not in given]
        if missing:
            self.report(
                codes.E026,
                f"'{call.function.name}' needs input{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                call.function.span,
            )

    def member(self, member: m.Member, in_block: bool) -> None:
        self.member_output(member)
        self.visit(member.object, in_block)

    def member_output(self, member: m.Member) -> None:
        contract = self.contract_of(member.object)
        if contract is not None and member.property not in contract.outputs:
            near = closest(member.property, contract.outputs)
            self.report(
                codes.E028,
                f"the program has no output '{member.property}'"
                + (f"; did you mean '{near}'?" if near else f" (outputs: {', '.join(contract.outputs) or 'none'})"),
                member.property_span,
                fixes=(_replace(member.property_span, near, f"Change to '{near}'"),) if near else (),
            )

    def contract_of(self, expr: object) -> Contract | None:
        """The contract of a binding assigned straight from a program call."""
        if not isinstance(expr, m.Name):
            return None
        ref = self.res.reference_at(expr.span.start_byte)
        if ref is None or ref.span != expr.span or ref.symbol is None:
            return None
        decl = ref.symbol.decl
        value = getattr(decl, "value", None)
        if isinstance(decl, m.Let) and not decl.destructure and isinstance(value, m.Call):
            return self.contract(value.function.name)
        return None

    # -------------------------------------------------------- references

    def references(self) -> None:
        agents = [stmt.span for stmt in self.top.body if isinstance(stmt, m.AgentDef)]
        for ref in self.res.references:
            self.reference(ref, agents)

    def reference(self, ref: Reference, agents: list[Span]) -> None:
        """The rules for one resolved (or unresolved) name; `agents` are the spans of the agent definitions."""
        if ref.symbol is not None:
            if ref.write and ref.symbol.kind in READONLY_KINDS:
                self.report(
                    codes.E103,
                    f"cannot assign to {ref.symbol.kind.value} '{ref.name}'",
                    ref.span,
                    related=(Related("defined here", ref.symbol.span),),
                )
            elif not ref.write and ref.role is Role.VARIABLE:
                self.used_before_bound(ref, agents)
            return
        if ref.role is Role.VARIABLE:
            hint, fixes = _suggest(ref.name, ref.scope.visible(), ref.span)
            self.unbound(ref, f"'{{{ref.name}}}' names no binding and will be sent as written{hint}",
                         f"'{ref.name}' is not defined{hint}", fixes=fixes)
        elif ref.role is Role.AGENT:
            self.undefined_agent(m.Name(ref.span, ref.name))
        elif ref.role is Role.BLOCK:
            hint, fixes = _suggest(ref.name, self.res.blocks, ref.span)
            self.report(codes.E102, f"block '{ref.name}' is not defined{hint}", ref.span, fixes=fixes)
        elif ref.role is Role.PROGRAM:
            hint = ""
            if ref.name in self.res.blocks:
                hint = f"; to run the block, write `do {ref.name}(…)`"
            self.report(codes.E025, f"'{ref.name}' is not an imported program{hint}", ref.span)


#: Bindings made by a statement at its place in the program (so order matters for them).
_ORDERED_KINDS = frozenset({SymbolKind.VARIABLE, SymbolKind.CONST, SymbolKind.OUTPUT, SymbolKind.INPUT})


class _Bindings(Visitor[None]):
    """Names a statement binds in the flat namespace, including inside its nested bodies.

    Loop variables and block definitions are local, so they are not listed;
    nothing but statement bodies is looked into.
    """

    def __init__(self) -> None:
        self.names: list[m.Name] = []

    def default(self, node: walk.Node, *args: object) -> None:
        pass

    def body(self, stmts: tuple[m.Stmt, ...]) -> None:
        for stmt in stmts:
            self.visit(stmt)

    def let(self, stmt: m.Let) -> None:
        self.names.extend(stmt.names)
        self.visit(stmt.value)

    def assign(self, stmt: m.Assign) -> None:
        self.names.append(stmt.name)
        self.visit(stmt.value)

    def output(self, stmt: m.Output) -> None:
        if stmt.name is not None:
            self.names.append(stmt.name)
        self.visit(stmt.value)

    def expr_stmt(self, stmt: m.ExprStmt) -> None:
        self.visit(stmt.expr)

    def do_block(self, e: m.DoBlock) -> None:
        self.body(e.body)

    def parallel(self, e: m.Parallel) -> None:
        self.body(e.body)

    def sequence(self, e: m.Sequence) -> None:
        for item in e.items:
            self.visit(item)

    def if_(self, stmt: m.If) -> None:
        for branch in (*stmt.branches, *((stmt.else_branch,) if stmt.else_branch else ())):
            self.body(branch.body)

    def try_(self, stmt: m.Try) -> None:
        for body in (stmt.body, stmt.catch.body if stmt.catch else (), stmt.finally_.body if stmt.finally_ else ()):
            self.body(body)


def _bound_names(stmt: m.Stmt) -> list[m.Name]:
    found = _Bindings()
    found.visit(stmt)
    return found.names


def _insert_after(name_span: Span, decl: m.AgentDef) -> Span:
    """Insertion point for a new first property: the end of the agent's header line."""
    end = name_span.end_byte + 1  # past the ':'
    return Span(end, end, name_span.end_row, name_span.end_col + 1, name_span.end_row, name_span.end_col + 1)


def check_program(
    program: m.Program, *, contracts: dict[str, Contract] | None = None, resolution: Resolution | None = None
) -> tuple[list[Diagnostic], Resolution]:
    """All model-level diagnostics of a program, and the resolution they were computed from."""
    res = resolution or resolve(program)
    diagnostics = list(res.diagnostics)
    diagnostics.extend(_Checker(program, res, contracts or {}).run())
    return diagnostics, res


__all__ = [
    "BACKOFFS",
    "Contract",
    "MODELS",
    "PIPE_OPERATORS",
    "POLICIES",
    "STRATEGIES",
    "check_program",
    "closest",
    "is_local_program_path",
    "is_remote_program_path",
]

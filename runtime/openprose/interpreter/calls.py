"""Calls: `do block(args)` within a program, and `name(input: …)` of an imported program.

A block invocation gets a namespace of its own under the program's root; an
imported program gets an interpreter of its own that shares the run's backend,
ledger, journal and session ids, with a state directory under the caller's.
"""

from __future__ import annotations

from pathlib import Path

from .. import model as m
from ..analysis import analyze, contract_of_program
from ..checker import is_local_program_path
from ..context import Flow, reset_flow, set_flow
from ..files import confine, read_program
from ..resolve import program_alias
from ..values import Value, render
from .base import InterpreterBase
from .errors import ProseError, Return
from .frames import Frame, FrameKind
from .naming import state_slug, state_word

__all__ = ["Calls"]


class Calls(InterpreterBase):
    """Block and program calls (a mixin of the interpreter: `self.body`, `self.value`, `self.run` are the dispatch's)."""

    async def call_block(self, call: m.DoCall, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        block = self.blocks.get(call.block.name)
        if block is None:
            raise ProseError(f"block '{call.block.name}' is not defined", call.block.span)
        if self.depth >= self.options.max_call_depth:
            raise ProseError(
                f"block calls nested {self.depth} deep; stopping (is '{call.block.name}' recursing without end?)",
                call.span,
            )
        args = [await self.value(arg.value, frame) for arg in call.arguments]
        self.exec_ids += 1
        exec_id = self.exec_ids
        inner = Frame(FrameKind.BLOCK, self.root, exec_id)
        for param, value in zip(block.parameters, args):
            inner.vars[param.name] = value
            inner.kinds[param.name] = "const"
        self.state_line(f"{sid}→ block:{state_word(block.name.name)}#{exec_id}")
        # The body's statement ids come from the call site, not from exec_id (a counter that
        # concurrent branches advance in any order), so resume finds the same calls again.
        occurrence = self.call_key("block", sid).rsplit(":", 1)[1]
        self.depth += 1
        try:
            value = await self.body(block.body, inner, f"{sid}#{occurrence}", path + (f"do {block.name.name}",))
        except Return as ret:
            value = ret.value
        finally:
            self.depth -= 1
        self.state_line(f"{sid}→ #{exec_id} done")
        return value

    async def call_program(self, call: m.Call, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        use = self.imports.get(call.function.name)
        if use is None:
            raise ProseError(f"'{call.function.name}' is not an imported program", call.function.span)
        target = use.path.text
        if not is_local_program_path(target):
            raise ProseError(f"cannot fetch '{target}': this runtime runs local .prose programs only", use.path.span)
        base = self.analysis.path.parent if self.analysis.path is not None else Path.cwd()
        try:
            file = confine(base / target, self.analysis.workspace, target)
            source = read_program(file)
        except OSError as exc:
            raise ProseError(f"cannot read program '{target}': {exc.strerror or exc}", use.path.span) from None
        sub = analyze(source, file, workspace=self.analysis.workspace, allow_outside=self.analysis.workspace is None)
        if sub.has_errors:
            first = sub.errors[0]
            raise ProseError(f"'{target}' does not check: line {first.span.start_row + 1}: {first.message}", use.path.span)
        inputs = {}
        for arg in call.arguments:
            if arg.name is not None:
                inputs[arg.name] = render(await self.value(arg.value, frame))
        contract = contract_of_program(sub.program, str(file))
        missing = [name for name in contract.inputs if name not in inputs]
        if missing:
            raise ProseError(f"'{call.function.name}' needs input(s) {', '.join(missing)}", call.span)
        slug = program_alias(target)
        child_store = self.store.import_store("local", state_slug(slug), source.decode("utf-8", errors="replace"))
        child = type(self)(
            sub, self.backend, child_store, emit=self.emit, inputs=inputs, ask_input=self.ask_input,
            options=self.options, path_prefix=path + (f"call {call.function.name}",),
            ask_permission=self.ask_permission, workspace=self.workspace, ledger=self.ledger,
            journal=self.journal, key_prefix=self.call_key("call", sid) + "/",
        )
        child.depth = self.depth + 1
        child.session_ids = self.session_ids
        if child.depth > self.options.max_call_depth:
            raise ProseError("program calls nested too deep", call.span)
        token = set_flow(Flow())  # an imported program starts fresh, like a function call
        try:
            await child.run(set())
        finally:
            reset_flow(token)
        self.reused += child.reused
        try:
            child_store.finish()
        except OSError as exc:
            raise ProseError(f"could not record the end of '{target}': {exc.strerror or exc}", call.span) from None
        return dict(child.outputs)

"""The OpenProse interpreter, on trio.

Control flow is exact and deterministic; only sessions, `**conditions**` and
`choice` go to a backend. Parallel blocks are real concurrent tasks: each
branch runs in its own cancel scope inside a nursery, so `first`, `any` and
fail-fast cancel the losers for real and the record says which were
cancelled. The same `run_program` serves the CLI and the language server;
callers see progress through `on_event` and stop a run by cancelling the
trio scope around it.

One module per concern:
    events    the one `emit` every event passes through (the events are openprose.events)
    errors    ProseError (catchable), ProgramNotRunnable (before anything runs)
    options   RunOptions
    frames    where bindings live (program, block, body, iteration)
    base      the interpreter's state: bindings and their files, state.md, the journal
    dispatch  every statement and expression, through the one walker (walk.Visitor)
    sessions  prompt, context, memory, retry, decisions and the tool loop's toolbox
    join      the join of a parallel block as a pure state machine
    branches  the trio side of a join: branches as tasks in cancel scopes
    calls     block invocations and imported programs
    entry     prepare, run_program and resume
"""

from .entry import RunResult, check_missing_inputs, declared_inputs, prepare, program_parameters, run_program
from .errors import ProgramNotRunnable, ProseError
from .events import EventSink, InputAsker, RunEvent, RunStatus
from .options import RunOptions

__all__ = [
    "EventSink",
    "InputAsker",
    "ProgramNotRunnable",
    "ProseError",
    "RunEvent",
    "RunOptions",
    "RunResult",
    "RunStatus",
    "check_missing_inputs",
    "declared_inputs",
    "prepare",
    "program_parameters",
    "run_program",
]

"""The diagnostic code table: every code any part of OpenProse reports.

One entry per code, with its severity, a one-line summary, the smallest example
that triggers it, and the phase that can find it. Rules emit through their entry
(`codes.E108.at(span, message)`), so a code cannot be misspelt and its severity
is decided here, once; docs/diagnostics.md is generated from this table
(`python -m openprose.codes_page docs/diagnostics.md`), and the language server
links each diagnostic to its row and explains it on hover.

Codes E001-E028 and W001-W011 keep the numbering of the upstream language
reference; P0xx (parallel blocks) and E1xx/W1xx are our own. Summaries and
examples are Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from .diagnostics import Diagnostic, Fix, Related, Severity, Span


class Phase(str, Enum):
    """What a rule needs to see, which says what may be cached and what must be recomputed.

    LOCAL is a promise (an incremental checker may keep the diagnostic while the
    statement is unchanged); PROGRAM is always safe. A code that several rules
    emit takes the widest phase any of them needs: E022 is LOCAL inside a block
    but PROGRAM under `--strict` (an input after executable statements).
    """

    #: Only the top-level statement it is about (everything nested in it): cacheable per statement.
    LOCAL = "statement"
    #: The whole program: its names, its imports, other files.
    PROGRAM = "program"
    #: Only a run can tell (memory on disk, the values bound so far); `prose check` never reports it.
    RUN = "run"


@dataclass(frozen=True, slots=True)
class Code:
    id: str
    severity: Severity
    summary: str
    example: str
    phase: Phase

    def at(self, span: Span, message: str, *, related: Iterable[Related] = (), fixes: Iterable[Fix] = ()) -> Diagnostic:
        """A diagnostic with this code; the message says what is wrong at this place."""
        return Diagnostic(self.id, self.severity, message, span, tuple(related), tuple(fixes))

    @property
    def anchor(self) -> str:
        """The fragment of the code's row in docs/diagnostics.md."""
        return self.id.lower()


#: Every code, in the order the documentation lists them.
TABLE: dict[str, Code] = {}

ERROR, WARNING = Severity.ERROR, Severity.WARNING
LOCAL, PROGRAM, RUN_TIME = Phase.LOCAL, Phase.PROGRAM, Phase.RUN


def _code(id: str, severity: Severity, phase: Phase, summary: str, example: str) -> Code:
    assert id not in TABLE, id
    code = TABLE[id] = Code(id, severity, summary, example, phase)
    return code


def lookup(id: str) -> Code | None:
    """The entry for a code as a diagnostic carries it (None for a code no rule emits)."""
    return TABLE.get(id)


E001 = _code('E001', ERROR, LOCAL,
             'A string is not closed before the end of its line (or of the file, for `"""`).',
             '`session "never closed`')
E002 = _code('E002', ERROR, LOCAL,
             'A backslash escape other than `\\\\`, `\\"`, `\\n`, `\\t`, `\\{`, `\\}`.',
             '`session "bad \\q"`')
E003 = _code('E003', ERROR, LOCAL,
             'A session with neither a prompt nor an agent.',
             '`session`')
E004 = _code('E004', ERROR, LOCAL,
             "Text the parser cannot fit into any statement; also a property written on the prompt's line (fix: "
             'move it to its own line) and a bare string in an agent (fix: `prompt:`).',
             '`session "a" "b"`')
E005 = _code('E005', ERROR, LOCAL,
             'Something required is missing: a value after `=` or `:`, the `:` ending a header such as `if …` '
             '(fix: add it), a bracket closed before the line ended (fix: add it), a right-hand side after `->`; '
             'or a line indented to no open level, said on that line ("indented 3 spaces, expected 2 or 0", fix: '
             'the nearest level); also a file that is not UTF-8.',
             '`let x =`')
E006 = _code('E006', ERROR, PROGRAM,
             'Two agents with the same name.',
             '`agent a:` twice')
E007 = _code('E007', ERROR, PROGRAM,
             'A session names an agent that is not defined (fix: closest name, or insert a definition).',
             '`session: ghost`')
E008 = _code('E008', ERROR, LOCAL,
             'A model other than `sonnet`, `opus`, `haiku` (or a full `claude-…` id).',
             '`model: gpt`')
E009 = _code('E009', ERROR, LOCAL,
             'The same property twice in one agent, session or permissions block.',
             '`model:` twice')
E010 = _code('E010', ERROR, PROGRAM,
             'The same program imported twice, or two imports with the same name.',
             '`use "@a/b"` twice')
E011 = _code('E011', ERROR, LOCAL,
             '`use` with an empty path.',
             '`use ""`')
E012 = _code('E012', ERROR, LOCAL,
             'A `use` path that is neither `@handle/slug`, a URL, nor a relative `.prose` path.',
             '`use "not a path"`')
E013 = _code('E013', ERROR, LOCAL,
             '`skills` is not an array.',
             '`skills: "web"`')
E014 = _code('E014', ERROR, LOCAL,
             'A skill that is not a string.',
             '`skills: [web]`')
E015 = _code('E015', ERROR, LOCAL,
             '`permissions` is not an indented block.',
             '`permissions: deny`')
E016 = _code('E016', ERROR, LOCAL,
             'A permission pattern that is neither a string nor a name of a binding.',
             '`read: [1]`')
E017 = _code('E017', ERROR, PROGRAM,
             '`resume:` on an agent without `persist:` (fix: add `persist: true`).',
             '`resume: a`')
E018 = _code('E018', ERROR, RUN_TIME,
             '`resume:` when the agent has no memory yet.',
             'first call is `resume:`')
E019 = _code('E019', ERROR, PROGRAM,
             'A name bound twice in one namespace (see "Namespaces" below).',
             '`let x` twice')
E020 = _code('E020', ERROR, LOCAL,
             'An `input` without a name.',
             '`input : "x"`')
E021 = _code('E021', ERROR, PROGRAM,
             'The same input declared twice.',
             '`input x` twice')
E022 = _code('E022', ERROR, PROGRAM,
             'An `input` inside a block definition or a parallel branch.',
             '`block b:` / `  input x: "…"`')
E023 = _code('E023', ERROR, LOCAL,
             'An `output` without a name where one is required.',
             '`output = x`')
E024 = _code('E024', ERROR, PROGRAM,
             'The same output set twice in one body (the first value is lost).',
             '`output r = …` twice')
E025 = _code('E025', ERROR, PROGRAM,
             'A call to a name that is not an imported program.',
             '`research(topic: "x")`')
E026 = _code('E026', ERROR, PROGRAM,
             'A call to a local program that leaves out one of its inputs.',
             '`lib()`')
E027 = _code('E027', ERROR, PROGRAM,
             'A call passes an input the program does not declare (fix: closest input).',
             '`lib(depht: 2)`')
E028 = _code('E028', ERROR, PROGRAM,
             'Reading an output the program does not produce (fix: closest output).',
             '`r.sumary`')
E101 = _code('E101', ERROR, PROGRAM,
             'A name used as a value that is not bound anywhere visible (fix: closest name), or read before the '
             'statement that binds it.',
             '`context: missing`')
E102 = _code('E102', ERROR, PROGRAM,
             '`do` names a block that is not defined (fix: closest block).',
             '`do nothing-here`')
E103 = _code('E103', ERROR, PROGRAM,
             'Assigning to a `const`, an input, a parameter, or a loop/catch variable.',
             '`c = …` after `const c`')
E104 = _code('E104', ERROR, LOCAL,
             '`elif`, `else`, `catch`, `finally` or `option` without its opening statement.',
             '`else:` alone')
E105 = _code('E105', ERROR, LOCAL,
             '`try` with neither `catch:` nor `finally:`.',
             '`try:` alone')
E106 = _code('E106', ERROR, LOCAL,
             'A `repeat` count that is not a whole number of at least 1.',
             '`repeat 0:`')
E107 = _code('E107', ERROR, LOCAL,
             'A loop modifier other than `max`, or a `max` below 1.',
             '`loop (max: 0):`')
E108 = _code('E108', ERROR, LOCAL,
             'An empty `**condition**`.',
             '`if ** **:`')
E109 = _code('E109', ERROR, LOCAL,
             'A `choice` with no options.',
             '`choice **x**:` with sessions only')
E110 = _code('E110', ERROR, LOCAL,
             'A `retry` that is not a whole number of at least 1.',
             '`retry: 0`')
E111 = _code('E111', ERROR, LOCAL,
             'A `backoff` other than `none`, `linear`, `exponential`.',
             '`backoff: quadratic`')
E112 = _code('E112', ERROR, PROGRAM,
             'A variable or block with the same name as an agent.',
             '`agent a` then `let a`')
E113 = _code('E113', ERROR, PROGRAM,
             'Two blocks with the same name.',
             '`block b:` twice')
E114 = _code('E114', ERROR, LOCAL,
             'A pipeline stage other than `map`, `filter`, `reduce(acc, x)`, `pmap`, or `reduce` without its two '
             'names.',
             '`x | mapp:`')
E115 = _code('E115', ERROR, LOCAL,
             'A `context:` list entry that is not a name.',
             '`context: ["literal"]`')
E116 = _code('E116', ERROR, LOCAL,
             'A `persist` value other than `true`, `project`, `user` or a path string.',
             '`persist: forever`')
E117 = _code('E117', ERROR, PROGRAM,
             'A local program named by `use` cannot be read, has syntax errors, or imports itself.',
             '`use "./missing.prose"`')
E118 = _code('E118', ERROR, LOCAL,
             'A line indented with a tab; the language indents with spaces. A tab is read as one level (two '
             'spaces), so the structure stays as typed and the fix replaces it with that many spaces; `prose fmt` '
             'converts a whole file.',
             'a tab before `context:`')
E120 = _code('E120', ERROR, LOCAL,
             'A `max_tokens` that is not a whole number of at least 1.',
             '`max_tokens: lots`')
E121 = _code('E121', ERROR, LOCAL,
             'An `effort` other than `none`, `low`, `medium` or `high`.',
             '`effort: extreme`')
P001 = _code('P001', ERROR, LOCAL,
             'Unknown join strategy; the fix keeps your bare or quoted spelling.',
             '`parallel (frist):`')
P002 = _code('P002', ERROR, LOCAL,
             'Unknown on-fail policy.',
             '`parallel (on-fail: contine):`')
P003 = _code('P003', ERROR, LOCAL,
             'Two strategies, two on-fail policies or two counts on one block.',
             '`parallel (first, any):`')
P004 = _code('P004', ERROR, LOCAL,
             '`count` without the `any` strategy.',
             '`parallel (first, count: 2):`')
P005 = _code('P005', ERROR, LOCAL,
             '`count` below 1 or not a whole number.',
             '`parallel (any, count: 0):`')
P007 = _code('P007', ERROR, LOCAL,
             'A parallel block with no branches (reported on the `parallel` line).',
             '`parallel:` with nothing under it')
P008 = _code('P008', ERROR, LOCAL,
             'A modifier key other than `on-fail` or `count`.',
             '`parallel (on-fial: continue):`')
P009 = _code('P009', ERROR, LOCAL,
             '`on-fail:` or `count:` with no value.',
             '`parallel (on-fail:):`')
P010 = _code('P010', ERROR, LOCAL,
             'Two branches of one parallel block bind the same name: which value is kept would be a race (reported'
             ' on the second).',
             '`a = session "A"` and `a = session "B"` under one `parallel:`')
W001 = _code('W001', WARNING, LOCAL,
             'The session prompt is empty.',
             '`session ""`')
W002 = _code('W002', WARNING, LOCAL,
             'The session prompt is only whitespace.',
             '`session "   "`')
W003 = _code('W003', WARNING, LOCAL,
             'A prompt longer than 10,000 characters.',
             'a very long prompt')
W004 = _code('W004', WARNING, LOCAL,
             'An empty `prompt:` property.',
             '`prompt: ""`')
W005 = _code('W005', WARNING, LOCAL,
             'A property the agent or session does not know (fix: closest property).',
             '`modle: sonnet`')
W006 = _code('W006', WARNING, LOCAL,
             'An `import` source that is not `github:`, `npm:`, a URL or a path.',
             '`from "ftp-thing"`')
W007 = _code('W007', WARNING, PROGRAM,
             'A skill that no `import` brings in.',
             '`skills: ["web"]`')
W008 = _code('W008', WARNING, LOCAL,
             'A permission type other than read, write, execute, bash, network.',
             '`reed: ["*"]`')
W009 = _code('W009', WARNING, LOCAL,
             'A permission value other than allow, deny, prompt or a list.',
             '`bash: sometimes`')
W010 = _code('W010', WARNING, LOCAL,
             'An empty `skills` list.',
             '`skills: []`')
W011 = _code('W011', WARNING, RUN_TIME,
             '`session:` on a persistent agent that already has memory; it starts fresh.',
             '`session: keeper`')
P006 = _code('P006', WARNING, LOCAL,
             '`count` larger than the number of branches: the block can never succeed.',
             '`parallel (any, count: 3):` with two branches')
W101 = _code('W101', WARNING, LOCAL,
             'A `loop` with no condition and no `(max: N)` (fix: add `(max: 10)`).',
             '`loop:`')
W102 = _code('W102', WARNING, LOCAL,
             'A condition so short it may be judged unpredictably.',
             '`loop until **ok**:`')
W103 = _code('W103', WARNING, PROGRAM,
             'A loop variable, parameter or error variable hides an outer name.',
             '`for item in …` after `let item`')
W104 = _code('W104', WARNING, PROGRAM,
             'A block called with a different number of arguments than it declares.',
             '`do b(1, 2)` for `block b(x)`')
W105 = _code('W105', WARNING, LOCAL,
             'Two options of a `choice` with the same label.',
             '`option "A"` twice')
W106 = _code('W106', WARNING, LOCAL,
             'An empty body (if/else branch, option, loop, `do:`, try, block).',
             '`if **ready**:` with nothing under it')
W107 = _code('W107', WARNING, LOCAL,
             '`throw ""` with an empty message.',
             '`throw ""`')
W108 = _code('W108', WARNING, LOCAL,
             'A retry count above 10.',
             '`retry: 11`')
W109 = _code('W109', WARNING, LOCAL,
             '`retry`/`backoff` on an agent, where it has no effect.',
             'agent with `retry: 2`')
W110 = _code('W110', WARNING, LOCAL,
             'An input without a description.',
             '`input topic: ""`')
W111 = _code('W111', WARNING, LOCAL,
             'A registry or URL program: it is fetched at run time, so its inputs and outputs cannot be checked '
             'offline.',
             '`use "@alice/research"`')
W112 = _code('W112', WARNING, PROGRAM,
             '`let` of a name that is already a variable, from a nested body: it updates the existing binding.',
             '`let n = n + 1` inside a loop')
W113 = _code('W113', WARNING, PROGRAM,
             '`{name}` in a string or condition that names no binding, or one bound only later; it is sent as '
             'written.',
             '`"Hello {nobody}"`')
W114 = _code('W114', WARNING, PROGRAM,
             'A skill an agent lists cannot be loaded from disk: no `SKILL.md` at its local path, or a '
             'registry/`github:`/`npm:` skill with no copy in `.prose/skills/<name>/` (see '
             '[tools.md](tools.md#skills)). A session that lists it fails with this message.',
             '`import "x" from "./missing"`')
W115 = _code('W115', WARNING, LOCAL,
             'A string, number or `true`/`false`/`null` alone on a line: it does nothing (fix for a string: make '
             'it a session).',
             '`"Summarize"` alone')

# Found only while a program runs.
RUN = _code('RUN', ERROR, RUN_TIME,
            'The run cannot go on: a required input was not given, a registry program cannot be fetched offline, '
            'or a statement failed; the message says which.',
            '`input topic: "…"` run without `--input topic=…`')
W116 = _code('W116', WARNING, RUN_TIME,
             'A `context:` entry has no value when the session runs (its parallel branch was cancelled or has not '
             'run), so the session runs without it.',
             '`context: b` after `parallel (first):` in which `a` won')
EMPTY = _code('EMPTY', WARNING, RUN_TIME,
              'A session returned no text, so its value is empty.',
              '`let r = session "…"` answered with nothing')
TRUNCATED = _code('TRUNCATED', WARNING, RUN_TIME,
                  'A session was cut off at `max_tokens`, so its output is incomplete (raise `max_tokens:` on the '
                  'agent or session).',
                  '`max_tokens: 16` on a long task')
PRICES = _code('PRICES', WARNING, RUN_TIME,
               'The price table cannot be read, so the run reports tokens but no cost estimate.',
               '`prose run --prices missing.json`')

"""The words hover and completion show: presentation only.

Which values are valid is the runtime's business (`openprose.checker`); this
module only says what each one means, in markdown. The parallel semantics
below are the settled behaviour of the interpreter, so a change there must be
mirrored here (tests check that every runtime value has an entry).
"""

from __future__ import annotations

import re

from openprose.agents.permissions import DEFAULT_PERMISSIONS, PathRule
from openprose.checker import (
    AGENT_PROPERTIES,
    BACKOFFS,
    MODELS,
    PERMISSION_TYPES,
    PERMISSION_VALUES,
    PIPE_OPERATORS,
    POLICIES,
    SESSION_PROPERTIES,
    STRATEGIES,
)
from openprose.codes import Code

STRATEGY_DOCS: dict[str, str] = {
    "all": (
        "**`all`** (default join strategy)\n\n"
        "Waits for every branch. The block's value is the list of branch values, in branch order.\n\n"
        "A failure is handled by the `on-fail` policy (default `fail-fast`)."
    ),
    "first": (
        "**`first`**: the first branch to settle decides.\n\n"
        "Settling means finishing either way, success *or* failure. The other branches are cancelled "
        "(they bind nothing and are recorded as cancelled). The block's value is the winner's value.\n\n"
        "If the first branch to settle failed, the block fails under `fail-fast` (the default)."
    ),
    "any": (
        "**`any`**: the first success wins.\n\n"
        "Failures do not end the race; the block waits for a success. With `count: N` it waits for the "
        "first N successes. The remaining branches are cancelled (they bind nothing and are recorded as cancelled).\n\n"
        "The block fails when too few branches can still succeed. Its value is the winner's value for "
        "`count: 1`, otherwise the list of the winners' values."
    ),
    "regardless": (
        "**`regardless`**: waits for every branch; failures never fail the block.\n\n"
        "Use it when every branch should get its chance and a failed one is acceptable."
    ),
}

POLICY_DOCS: dict[str, str] = {
    "fail-fast": (
        "**`on-fail: fail-fast`** (default)\n\n"
        "The first failure cancels the branches still running and fails the block. "
        "Cancelled branches bind nothing and are recorded as cancelled."
    ),
    "continue": (
        "**`on-fail: continue`**\n\n"
        "Every branch runs to its end and the block succeeds. Each failed branch's result is an "
        "error record, which later sessions can see in their context."
    ),
    "ignore": (
        "**`on-fail: ignore`**\n\n"
        "Failures are dropped, as if the failed branch had produced nothing; the block succeeds "
        "with what the other branches produced."
    ),
}

MODIFIER_DOCS: dict[str, str] = {
    "on-fail": (
        "**`on-fail:`** how a parallel block reacts when a branch fails.\n\n"
        "`fail-fast` (default) cancels the rest and fails the block; `continue` lets every branch finish "
        "and passes error records on; `ignore` drops failures."
    ),
    "count": (
        "**`count: N`** (with `any` only): how many successes the block waits for.\n\n"
        "The first N branches to succeed win and the rest are cancelled. The block fails when fewer than "
        "N branches can still succeed. With N above 1 the value is the list of the winners' values."
    ),
    "max": "**`max: N`**: the loop stops after N iterations at most, whatever its condition says.",
}

MODEL_DOCS: dict[str, str] = {
    "sonnet": "**`sonnet`**: the balanced model family, and the default when nothing names a model.",
    "opus": "**`opus`**: the most capable model family, for hard reasoning; slower and costlier.",
    "haiku": "**`haiku`**: the fastest and cheapest model family, for simple or high-volume tasks.",
}

BACKOFF_DOCS: dict[str, str] = {
    "none": "**`backoff: none`**: retries start again immediately.",
    "linear": "**`backoff: linear`**: each retry waits a little longer than the one before (base × attempt).",
    "exponential": "**`backoff: exponential`**: each retry waits twice as long as the one before.",
}

PERSIST_DOCS: dict[str, str] = {
    "true": "**`persist: true`**: the agent keeps a memory for the length of this run; `resume:` continues it.",
    "project": "**`persist: project`**: the agent's memory is kept with the project and survives across runs.",
    "user": "**`persist: user`**: the agent's memory is kept for the user, across projects and runs.",
}


def _path_default(rule: PathRule | None, anything: str) -> str:
    if rule is None:
        return anything
    if rule.patterns is not None:
        return "only " + ", ".join(f"`{p}`" for p in rule.patterns) if rule.patterns else "nothing"
    return f"`{rule.policy}` inside the workspace" if rule.policy != "deny" else "`deny`"


#: The runtime's defaults (`DEFAULT_PERMISSIONS`) in words, so hover never drifts from what runs.
PERMISSION_DEFAULTS: dict[str, str] = {
    "read": _path_default(DEFAULT_PERMISSIONS.read, "`allow`"),
    "write": _path_default(DEFAULT_PERMISSIONS.write, "`allow`"),
    "execute": _path_default(DEFAULT_PERMISSIONS.execute, "any program `bash` may run"),
    "bash": f"`{DEFAULT_PERMISSIONS.bash}`",
    "network": f"`{DEFAULT_PERMISSIONS.network}`",
}

_PERMISSION_TOOLS = {
    "read": "read, glob, grep",
    "write": "write, edit",
    "execute": "the programs a bash command starts",
    "bash": "bash",
    "network": "web search, web fetch",
}

#: What a session may do when its agent has no `permissions:` block, and in a
#: bare `session "…"`; hover on `permissions` shows it.
PERMISSION_DEFAULTS_DOC = (
    "Without a `permissions:` block (and in a bare `session \"…\"`):\n\n"
    "| type | governs | default |\n"
    "| ---- | ------- | ------- |\n"
    + "".join(f"| `{kind}` | {_PERMISSION_TOOLS[kind]} | {PERMISSION_DEFAULTS[kind]} |\n" for kind in _PERMISSION_TOOLS)
    + "\nTools never reach outside the workspace (the folder the program runs in) unless a pattern names "
    "the place, and the run state in `.prose/` is never writable."
)

PERMISSION_DOCS: dict[str, str] = {
    "read": (
        "**`read:`** which files the agent's sessions may look at (the read, glob and grep tools): "
        "`allow`, `deny`, `prompt` or a list of glob patterns such as `[\"src/**\", \"*.md\"]`. "
        f"Default: {PERMISSION_DEFAULTS['read']}."
    ),
    "write": (
        "**`write:`** which files the agent's sessions may create or change (the write and edit tools): "
        "`allow`, `deny`, `prompt` or a list of glob patterns such as `[\"out/**\"]`. "
        f"Default: {PERMISSION_DEFAULTS['write']}."
    ),
    "execute": (
        "**`execute:`** which programs the agent's shell commands may start: `allow`, `deny`, `prompt` "
        "or a list of patterns such as `[\"pytest\", \"git\"]` (a command line that starts anything else is "
        "refused). It narrows `bash` and never allows a shell that `bash` denies. "
        f"Default: {PERMISSION_DEFAULTS['execute']}."
    ),
    "bash": (
        "**`bash:`** whether the agent's sessions get a shell to run commands in: `allow`, `deny` (no "
        f"shell tool is offered at all) or `prompt`. Default: {PERMISSION_DEFAULTS['bash']}."
    ),
    "network": (
        "**`network:`** whether the agent's sessions may search and fetch from the web: `allow`, `deny` "
        f"or `prompt`. Default: {PERMISSION_DEFAULTS['network']}."
    ),
    "allow": "**`allow`**: the tool call goes ahead without asking.",
    "deny": (
        "**`deny`**: never permitted. The session is told the call was refused (and why) and never sees "
        "the refused content."
    ),
    "prompt": (
        "**`prompt`**: the person running the program is asked before each call. `prose run` asks in the "
        "terminal (`--yes` answers yes to every question); the editor shows an Allow / Deny dialog. With "
        "nobody to ask, or on Deny, that one call is refused and the session is told so."
    ),
}

PROPERTY_DOCS: dict[str, str] = {
    "model": "**`model:`** which model runs the session: `sonnet`, `opus`, `haiku` or a full `claude-…` id.",
    "prompt": (
        "**`prompt:`** on an agent, its standing instructions (the system prompt); on a session, the task. "
        "Strings may interpolate bindings with `{name}`."
    ),
    "persist": (
        "**`persist:`** gives an agent a memory that `resume:` continues: `true` (this run), `project`, "
        "`user`, or a path string."
    ),
    "context": (
        "**`context:`** the bindings a session gets to see: one name, a list `[a, b]`, an object `{ a, b }`, "
        "or `[]` for a fresh start."
    ),
    "retry": "**`retry: N`** tries a failing session up to N more times before the failure counts.",
    "backoff": "**`backoff:`** the wait between retries: `none`, `linear` or `exponential`.",
    "skills": '**`skills:`** the imported skills the agent may use, as a list of strings: `["web-search"]`.',
    "permissions": (
        "**`permissions:`** what the agent's sessions may do with their tools, as indented `type: value` "
        "lines: `read`, `write` and `execute` take `allow`, `deny`, `prompt` or a list of glob patterns; "
        "`bash` and `network` take `allow`, `deny` or `prompt`. A type the block leaves out keeps its "
        "default.\n\n" + PERMISSION_DEFAULTS_DOC
    ),
    "max_tokens": (
        "**`max_tokens: N`** the session's output budget, thinking included (default 8192); an output cut off "
        "at it is kept but flagged `truncated`."
    ),
    "effort": (
        "**`effort:`** how hard the model thinks before answering: `none`, `low` (default), `medium` or `high`; "
        "thinking never takes more than half of `max_tokens`."
    ),
}

PIPE_DOCS: dict[str, str] = {
    "map": "**`| map:`** runs the body once per element, in order; `item` is the element. The value is the list of results.",
    "filter": "**`| filter:`** keeps the elements for which the body answers yes; `item` is the element.",
    "reduce": "**`| reduce(acc, x):`** folds the list into one value; the body sees the running value and the element.",
    "pmap": "**`| pmap:`** like `map`, but every element runs at the same time; `item` is the element.",
}

KEYWORD_DOCS: dict[str, str] = {
    "use": '**`use "path" as name`** imports another program, which is then called like `name(input: value)`.',
    "import": '**`import "skill" from "source"`** makes a skill available to agents that list it in `skills:`.',
    "from": "Names where an imported skill comes from.",
    "as": "Names the thing just introduced: a `use` alias, a loop index, or a caught error.",
    "input": '**`input name: "description"`** a value the caller supplies (`prose run --input name=…`).',
    "output": "**`output name = value`** publishes a value as one of the program's results.",
    "agent": "**`agent name:`** defines a reusable persona: model, prompt, permissions, memory.",
    "block": "**`block name(params):`** defines a reusable sequence of statements, run with `do name(args)`.",
    "let": "**`let name = value`** binds a name; it may be rebound later with `name = value`.",
    "const": "**`const name = value`** binds a name that cannot be rebound.",
    "session": (
        "**`session`** runs one AI session: `session \"prompt\"`, `session: agent` or `session name: agent`, "
        "optionally with indented properties. Its value is the session's answer."
    ),
    "resume": "**`resume: agent`** continues a persistent agent's memory instead of starting fresh.",
    "do": "**`do:`** runs an indented sequence; **`do name(args)`** runs a block.",
    "parallel": (
        "**`parallel (strategy, on-fail: policy):`** runs its branches at the same time.\n\n"
        "Strategies: `all` (default), `first`, `any` (with `count: N`), `regardless`. "
        "Failure policies: `fail-fast` (default), `continue`, `ignore`. "
        "Name branches (`a = session …`) to use their results afterwards; cancelled branches bind nothing.\n\n"
        "**`parallel for x in items:`** runs the body for every element at the same time."
    ),
    "for": "**`for x in items:`** runs the body once per element (`for x, i in items:` adds the index).",
    "in": "Separates a loop variable from the collection it walks.",
    "repeat": "**`repeat N:`** runs the body N times (`repeat N as i:` names the counter).",
    "loop": (
        "**`loop until **condition** (max: N):`** repeats until an AI-judged condition holds; "
        "`loop while` repeats while it holds. Always give a `max`."
    ),
    "until": "Ends a loop once its `**condition**` is judged true.",
    "while": "Keeps a loop going while its `**condition**` is judged true.",
    "if": "**`if **condition**:`** runs the body when the condition is judged true.",
    "elif": "**`elif **condition**:`** another branch, tried when the ones above were false.",
    "else": "**`else:`** runs when no condition above held.",
    "try": "**`try:`** runs the body; a failure inside goes to `catch:`, and `finally:` always runs.",
    "catch": "**`catch:`** handles a failure of the `try` body (`catch as err:` names the error).",
    "finally": "**`finally:`** runs after `try`/`catch`, whether or not something failed.",
    "throw": '**`throw "message"`** fails on purpose; the nearest `catch` receives the message.',
    "choice": "**`choice **criteria**:`** lets the AI pick one of the `option` branches by the criteria.",
    "option": '**`option "label":`** one alternative of a `choice`.',
    "and": "True when both sides are.",
    "or": "True when either side is.",
    "not": "Negates a condition.",
    "true": "The boolean true.",
    "false": "The boolean false.",
    "null": "No value.",
}

ITEM_DOC = "**`item`**: the current element inside `map`, `filter` and `pmap` bodies. It is implicit and cannot be renamed."

#: Statement snippets offered at the start of a line: (label, snippet, doc key).
STATEMENT_SNIPPETS: tuple[tuple[str, str, str], ...] = (
    ("agent", "agent ${1:name}:\n  model: ${2:sonnet}\n  prompt: \"${3}\"", "agent"),
    ("session", 'session "${1:prompt}"', "session"),
    ("let", "let ${1:name} = session \"${2:prompt}\"", "let"),
    ("const", "const ${1:name} = ${2:value}", "const"),
    ("parallel", "parallel:\n  ${1:a} = session \"${2}\"\n  ${3:b} = session \"${4}\"", "parallel"),
    ("parallel for", "parallel for ${1:item} in ${2:items}:\n  session \"${3}\"", "parallel"),
    ("for", "for ${1:item} in ${2:items}:\n  ${0}", "for"),
    ("repeat", "repeat ${1:3}:\n  ${0}", "repeat"),
    ("loop", "loop until **${1:condition}** (max: ${2:5}):\n  ${0}", "loop"),
    ("if", "if **${1:condition}**:\n  ${0}", "if"),
    ("elif", "elif **${1:condition}**:\n  ${0}", "elif"),
    ("else", "else:\n  ${0}", "else"),
    ("try", "try:\n  ${1}\ncatch as ${2:err}:\n  ${0}", "try"),
    ("choice", 'choice **${1:criteria}**:\n  option "${2:A}":\n    ${0}', "choice"),
    ("option", 'option "${1:label}":\n  ${0}', "option"),
    ("block", "block ${1:name}(${2}):\n  ${0}", "block"),
    ("do", "do ${1:name}(${2})", "do"),
    ("input", 'input ${1:name}: "${2:description}"', "input"),
    ("output", "output ${1:name} = ${2:value}", "output"),
    ("use", 'use "${1:./other.prose}" as ${2:name}', "use"),
    ("import", 'import "${1:skill}" from "${2:github:owner/repo}"', "import"),
    ("resume", "resume: ${1:agent}", "resume"),
    ("throw", 'throw "${1:message}"', "throw"),
)


def missing_entries() -> list[str]:
    """Runtime values with no words here (a test keeps this empty)."""
    tables = [
        (STRATEGIES, STRATEGY_DOCS),
        (POLICIES, POLICY_DOCS),
        (MODELS, MODEL_DOCS),
        (BACKOFFS, BACKOFF_DOCS),
        (PERMISSION_TYPES + PERMISSION_VALUES, PERMISSION_DOCS),
        (AGENT_PROPERTIES + SESSION_PROPERTIES, PROPERTY_DOCS),
        (PIPE_OPERATORS, PIPE_DOCS),
    ]
    return [value for values, docs in tables for value in values if value not in docs]


# ------------------------------------------------------------------ the guide

#: Where the project lives; hover links point at its copy of the guide when no local one exists.
PROJECT_URL = "https://github.com/openprose/openprose-tooling"

#: Sections of docs/guide.md: number -> (title, heading anchor).
GUIDE_SECTIONS: dict[int, tuple[str, str]] = {
    1: ("A first program", "1-a-first-program"),
    2: ("Agents and models", "2-agents-and-models"),
    3: ("Parallel blocks", "3-parallel-blocks"),
    4: ("Loops and conditions", "4-loops-and-conditions"),
    5: ("Error handling", "5-error-handling"),
    6: ("Blocks and imports", "6-blocks-and-imports"),
    7: ("Running and resuming", "7-running-and-resuming"),
}

_KEYWORD_SECTIONS: dict[str, int] = {
    **dict.fromkeys(("session", "let", "const", "input", "output"), 1),
    **dict.fromkeys(("agent", "resume"), 2),
    "parallel": 3,
    **dict.fromkeys(("for", "in", "repeat", "loop", "until", "while", "if", "elif", "else", "choice", "option"), 4),
    **dict.fromkeys(("try", "catch", "finally", "throw"), 5),
    **dict.fromkeys(("block", "do", "use", "import", "from"), 6),
}
_PROPERTY_SECTIONS: dict[str, int] = {
    "context": 1,
    **dict.fromkeys(("model", "prompt", "persist"), 2),
    **dict.fromkeys(("retry", "backoff"), 5),
    "skills": 6,
}
_KIND_SECTIONS: dict[str, int] = {"strategy": 3, "policy": 3, "pipe": 4}
_MODIFIER_SECTIONS: dict[str, int] = {"on-fail": 3, "count": 3, "max": 4}
_VALUE_SECTIONS: dict[str, int] = {"model": 2, "persist": 2, "backoff": 5}


def guide_section(kind: str, word: str, key: str | None = None) -> int | None:
    """The guide section that explains a hovered word (by the role the syntax gives it)."""
    if kind == "keyword":
        return _KEYWORD_SECTIONS.get(word)
    if kind == "property":
        return _PROPERTY_SECTIONS.get(word)
    if kind == "modifier":
        return _MODIFIER_SECTIONS.get(word)
    if kind == "value":
        return _VALUE_SECTIONS.get(key or "") or _MODIFIER_SECTIONS.get(key or "")
    return _KIND_SECTIONS.get(kind)


def guide_url(anchor: str) -> str:
    """The guide next to this server when it runs from a checkout, else the project's published copy."""
    from pathlib import Path

    local = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
    if local.is_file():
        return f"{local.as_uri()}#{anchor}"
    return f"{PROJECT_URL}/blob/main/docs/guide.md#{anchor}"


def guide_link(section: int) -> str:
    title, anchor = GUIDE_SECTIONS[section]
    return f"More: [guide §{section} {title}]({guide_url(anchor)})"


# ------------------------------------------------------------ diagnostic codes

#: The published reference of every code, generated from `openprose.codes`.
DIAGNOSTICS_URL = f"{PROJECT_URL}/blob/main/docs/diagnostics.md"

_RELATIVE_LINK = re.compile(r"\]\((?![a-z]+:)([^)#]+\.md)")


def code_url(code: Code) -> str:
    """A stable address of the code's row (the same on every machine, unlike the local guide)."""
    return f"{DIAGNOSTICS_URL}#{code.anchor}"


def code_doc(code: Code) -> str:
    """Markdown for a diagnostic's code: what it means, the smallest program that has it, and its row."""
    summary = _RELATIVE_LINK.sub(lambda found: f"]({PROJECT_URL}/blob/main/docs/{found.group(1)}", code.summary)
    return (f"**{code.id}** ({code.severity.value}): {summary}\n\n"
            f"Smallest example: {code.example}\n\n[{code.id} in the diagnostics reference]({code_url(code)})")

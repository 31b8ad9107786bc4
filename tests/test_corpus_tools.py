"""Corpus programs whose sessions must act, run on the scripted backend with scripted tool calls.

Each program is copied into a temporary repository (as a user would keep it), and
the script makes the tool calls its prompts ask for. The calls run for real,
through the program's permissions; the tests check the files on disk afterwards
and what each call returned (what a model would have seen).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from openprose.agents.permissions import PermissionRequest
from openprose.backends.scripted import ScriptedBackend, parse_script
from openprose.interpreter import RunEvent, run_program

from .tshelpers import CORPUS

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not checked out")


async def _yes(request: PermissionRequest) -> bool:
    return True


async def _run(ws: Path, name: str, script: dict) -> tuple[object, ScriptedBackend, list[RunEvent]]:
    program = ws / name
    shutil.copy(CORPUS / name, program)
    import json

    backend = ScriptedBackend(parse_script(json.dumps(script), "test script"))
    events: list[RunEvent] = []
    result = await run_program(program.read_bytes(), program, backend=backend, workdir=ws, on_event=events.append,
                               ask_permission=_yes)
    return result, backend, events


def _results(backend: ScriptedBackend) -> list[tuple[str, str, bool]]:
    return [(name, str(o.content), o.is_error) for name, o in backend.tool_results]


async def test_code_review_reads_the_real_sources(tmp_path: Path) -> None:
    ws = tmp_path
    (ws / "src").mkdir()
    (ws / "src" / "db.py").write_text("def find(user):\n    return f\"SELECT * FROM t WHERE name = '{user}'\"\n")
    script = {
        "sessions": [
            {"match": "Read the files in src/", "tools": [{"tool": "glob", "input": {"pattern": "src/**/*"}},
                                                        {"tool": "read", "input": {"file_path": "src/db.py"}}],
             "output": "one module, db.py, builds SQL"},
            {"match": "security", "tools": [{"tool": "grep", "input": {"pattern": "SELECT", "path": "src"}}],
             "output": "SQL injection in find()"},
        ],
        "default": {"output": "noted"},
    }
    result, backend, _ = await _run(ws, "03-code-review.prose", script)
    assert result.status == "ok", result.error
    (glob_name, listing, _), (_, source, _), (_, hits, _) = _results(backend)
    assert "src/db.py" in listing
    assert "SELECT * FROM t" in source
    assert hits.startswith("src/db.py:2:")


async def test_debug_issue_writes_a_test_fixes_the_bug_and_runs_the_suite(tmp_path: Path) -> None:
    ws = tmp_path
    (ws / "calc.py").write_text("def mean(xs):\n    return sum(xs) / len(xs)\n")
    (ws / "error.txt").write_text("ZeroDivisionError: division by zero\n  File calc.py, in mean\n")
    test = ("import unittest\nfrom calc import mean\n\n"
            "class T(unittest.TestCase):\n    def test_empty(self):\n        self.assertEqual(mean([]), 0)\n\n"
            "if __name__ == '__main__':\n    unittest.main()\n")
    run_tests = {"tool": "bash", "input": {"command": f"{sys.executable} -m unittest -q test_calc 2>&1"}}
    script = {
        "sessions": [
            {"match": "Read the error message", "tools": [{"tool": "read", "input": {"file_path": "error.txt"}}],
             "output": "calc.py mean()"},
            {"match": "Read the relevant source", "tools": [{"tool": "read", "input": {"file_path": "calc.py"}}],
             "output": "len(xs) is 0 for an empty list"},
            {"match": "Write a test case", "tools": [{"tool": "write", "input": {"file_path": "test_calc.py",
                                                                                "content": test}}, run_tests],
             "output": "test fails as expected"},
            {"match": "Implement a fix", "tools": [{"tool": "edit", "input": {
                "file_path": "calc.py", "old_string": "    return sum(xs) / len(xs)",
                "new_string": "    return sum(xs) / len(xs) if xs else 0"}}], "output": "guarded"},
            {"match": "Run the test suite", "tools": [run_tests], "output": "all green"},
        ],
        "default": {"output": "hypotheses"},
    }
    result, backend, events = await _run(ws, "05-debug-issue.prose", script)
    assert result.status == "ok", result.error
    calls = _results(backend)
    before, after = [c for c in calls if c[0] == "bash"]
    assert before[2] and "ZeroDivisionError" in before[1]  # the new test reproduced the bug
    assert not after[2] and "OK" in after[1]  # and passes after the fix
    assert "if xs else 0" in (ws / "calc.py").read_text()
    assert [e.status for e in events if e.type == "tool.end"] == ["ok", "ok", "ok", "error", "ok", "ok"]


async def test_refactor_edits_and_verifies(tmp_path: Path) -> None:
    ws = tmp_path
    (ws / "shapes.py").write_text("def a(w, h):\n    return w * h\n")
    (ws / "test_shapes.py").write_text("from shapes import area\nassert area(2, 3) == 6\nprint('passed')\n")
    script = {
        "sessions": [
            {"match": "Implement the first refactoring", "tools": [
                {"tool": "edit", "input": {"file_path": "shapes.py", "old_string": "def a(", "new_string": "def area("}}],
             "output": "renamed a() to area()"},
            {"match": "Run tests to verify", "tools": [
                {"tool": "bash", "input": {"command": f"{sys.executable} test_shapes.py"}}], "output": "passed"},
        ],
        "default": {"output": "ok"},
    }
    result, backend, _ = await _run(ws, "07-refactor.prose", script)
    assert result.status == "ok", result.error
    assert (ws / "shapes.py").read_text().startswith("def area(")
    assert _results(backend)[-1] == ("bash", "passed", False)


async def test_secure_agents_get_exactly_their_permissions(tmp_path: Path) -> None:
    ws = tmp_path
    (ws / "src").mkdir()
    (ws / "src" / "index.ts").write_text("export function login(pw: string) { return pw === 'admin'; }\n")
    (ws / "docs").mkdir()
    (ws / "secrets.env").write_text("DB_PASSWORD=swordfish\n")
    vendored = ws / ".prose" / "skills" / "code-analyzer"
    vendored.mkdir(parents=True)
    (vendored / "SKILL.md").write_text("---\nname: code-analyzer\ndescription: Static checks\n---\nLook for hard-coded secrets.\n")
    script = {
        "sessions": [
            {"match": "Review the codebase", "tools": [
                {"tool": "read", "input": {"file_path": "src/index.ts"}},
                {"tool": "read", "input": {"file_path": "secrets.env"}},
                {"tool": "write", "input": {"file_path": "src/index.ts", "content": "x"}},
                {"tool": "bash", "input": {"command": "cat secrets.env"}},
                {"tool": "read", "input": {"file_path": ".prose/skills/code-analyzer/SKILL.md"}}],
             "output": "hard-coded admin password in login()"},
            {"match": "Update the documentation", "tools": [
                {"tool": "write", "input": {"file_path": "docs/security.md", "content": "# Security\nlogin() is unsafe.\n"}},
                {"tool": "write", "input": {"file_path": "README.md", "content": "x"}}],
             "output": "docs updated"},
        ],
    }
    result, backend, events = await _run(ws, "12-secure-agent-permissions.prose", script)
    assert result.status == "ok", result.error
    calls = _results(backend)
    assert "login" in calls[0][1] and not calls[0][2]
    assert calls[1][2] and "swordfish" not in calls[1][1]  # read: only src/**/*.ts and *.md
    assert calls[2][2] and "no tool named 'write'" in calls[2][1]  # write: [] offers no write tool
    assert calls[3][2] and "no tool named 'bash'" in calls[3][1]  # bash: deny offers no shell
    assert not calls[4][2] and "hard-coded secrets" in calls[4][1]  # the agent's skill files are readable
    assert (ws / "docs" / "security.md").read_text().startswith("# Security")
    assert calls[6][2] and not (ws / "README.md").exists()  # write: only docs/**/*.md
    assert (ws / "src" / "index.ts").read_text().startswith("export function login")
    assert all("swordfish" not in repr(e) for e in events)


async def test_skills_program_loads_local_and_vendored_skills(tmp_path: Path) -> None:
    ws = tmp_path
    for folder, body in [(ws / "local-skills" / "file-reader", "Read files carefully."),
                         (ws / ".prose" / "skills" / "summarizer", "Summaries have three bullets."),
                         (ws / ".prose" / "skills" / "web-search", "Cite every source.")]:
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text(f"---\nname: {folder.name}\ndescription: {folder.name} skill\n---\n{body}\n")
    (ws / "research.md").write_text("Sodium batteries are cheaper.\n")
    script = {"sessions": [
        {"match": "Search for recent developments", "output": "found three developments"},
        {"match": "Create a technical summary", "tools": [{"tool": "read", "input": {"file_path": "research.md"}},
                                                         {"tool": "write", "input": {"file_path": "summary.md",
                                                                                     "content": "- sodium\n"}}],
         "output": "summary written"},
    ]}
    result, backend, _ = await _run(ws, "11-skills-and-imports.prose", script)
    assert result.status == "ok", result.error
    assert (ws / "summary.md").read_text() == "- sodium\n"
    assert [c[2] for c in _results(backend)] == [False, False]


async def test_skills_program_without_the_skills_fails_naming_the_first_missing_one(tmp_path: Path) -> None:
    result, _, events = await _run(tmp_path, "11-skills-and-imports.prose", {"default": {"output": "x"}})
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("skill 'summarizer'")
    assert not [e for e in events if e.type == "session.start"]  # nothing ran without its skills


async def test_explain_codebase_maps_the_repository_and_writes_the_architecture_document(tmp_path: Path) -> None:
    ws = tmp_path
    (ws / "app").mkdir()
    (ws / "app" / "__main__.py").write_text("from app.server import serve\nserve()\n")
    (ws / "app" / "server.py").write_text("def serve():\n    handle('GET /')\n\ndef handle(request):\n    return 200\n")
    script = {
        "sessions": [
            {"match": "List all directories", "tools": [{"tool": "bash", "input": {"command": "find . -name '*.py' | sort"}}],
             "output": "app/ with __main__.py and server.py"},
            {"match": "Find the main entry point", "tools": [{"tool": "grep", "input": {"pattern": "serve\\(\\)"}}],
             "output": "app/__main__.py calls serve()"},
            {"match": "Trace through a typical user request", "tools": [
                {"tool": "read", "input": {"file_path": "app/server.py"}}], "output": "serve -> handle"},
            {"match": "write a brief architecture document", "tools": [
                {"tool": "write", "input": {"file_path": "ARCHITECTURE.md", "content": "# Architecture\nserve() -> handle()\n"}}],
             "output": "ARCHITECTURE.md written"},
        ],
        "default": {"output": "conventions"},
    }
    result, backend, _ = await _run(ws, "06-explain-codebase.prose", script)
    assert result.status == "ok", result.error
    (_, listing, _), (_, entry, _), (_, source, _), (_, wrote, _) = _results(backend)
    assert listing.splitlines() == ["./app/__main__.py", "./app/server.py"]
    assert entry.startswith("app/__main__.py:2:")
    assert "def handle(request)" in source
    assert (ws / "ARCHITECTURE.md").read_text().startswith("# Architecture")


async def test_code_review_agents_review_the_files_they_were_pointed_at(tmp_path: Path) -> None:
    ws = tmp_path
    (ws / "src").mkdir()
    (ws / "src" / "users.js").write_text("for (const u of users) { db.query('SELECT * FROM t WHERE id=' + u.id) }\n")
    script = {
        "sessions": [
            {"match": "Review the code in src/", "tools": [{"tool": "glob", "input": {"pattern": "*.js", "path": "src"}}],
             "output": "style ok"},
            {"match": "performance bottlenecks", "tools": [{"tool": "grep", "input": {"pattern": "for \\(", "path": "src"}}],
             "output": "N+1 query in a loop"},
            {"match": "OWASP", "tools": [{"tool": "read", "input": {"file_path": "src/users.js"}}],
             "output": "SQL built by concatenation"},
        ],
        "default": {"output": "consolidated report"},
    }
    result, backend, events = await _run(ws, "10-code-review-agents.prose", script)
    assert result.status == "ok", result.error
    assert [(name, error) for name, _, error in _results(backend)] == [("glob", False), ("grep", False), ("read", False)]
    assert "src/users.js" in _results(backend)[0][1] and "db.query" in _results(backend)[2][1]
    agents = {e.agent for e in events if e.type == "tool.end"}
    assert agents == {"style-reviewer", "performance-reviewer", "security-reviewer"}

"""Backends: simulated, scripted, and the real Anthropic SDK against a local fake API."""

from __future__ import annotations

import json
import logging
import socket
import traceback
from pathlib import Path

import anyio.to_thread
import pytest
import trio

from .fake_messages_api import FakeMessagesAPI, Reply
from openprose.backends import (
    DEFAULT_MODEL_ALIASES,
    Backend,
    BackendConfig,
    BackendError,
    ContextItem,
    ScriptError,
    SessionRequest,
    SessionResult,
    make_backend,
    resolve_model,
)
from openprose.backends.anthropic_backend import AnthropicBackend, render_user_message
from openprose.backends.scripted import ScriptedBackend
from openprose.backends.simulated import SimulatedBackend

SECRET = "sk-ant-test-0123456789-SECRET-abcdef"
FAST = BackendConfig(retry_initial_delay=0.01, retry_max_delay=0.05, retry_jitter=0.0, max_attempts=3)


def anthropic_for(api: FakeMessagesAPI, config: BackendConfig = FAST) -> AnthropicBackend:
    backend = make_backend(
        "anthropic", config=config, env={"ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": api.base_url}
    )
    assert isinstance(backend, AnthropicBackend)
    return backend


def write_script(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- make_backend


def test_auto_picks_anthropic_only_with_a_key() -> None:
    assert make_backend(None, env={}).name == "simulated"
    assert make_backend("auto", env={"ANTHROPIC_API_KEY": ""}).name == "simulated"
    assert make_backend("auto", env={"ANTHROPIC_API_KEY": SECRET}).name == "anthropic"


def test_unknown_backend_name_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match=r"unknown backend 'gpt'.*simulated.*scripted.*anthropic"):
        make_backend("gpt", env={})


def test_configuration_mistakes_are_value_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--script"):
        make_backend("scripted", env={})
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        make_backend("anthropic", env={})
    with pytest.raises(ValueError, match="scripted backend"):
        make_backend("simulated", script=write_script(tmp_path, {}), env={})


def test_every_backend_satisfies_the_protocol(tmp_path: Path) -> None:
    for backend in (
        make_backend("simulated", env={}),
        make_backend("scripted", script=write_script(tmp_path, {"default": {"output": "x"}}), env={}),
        make_backend("anthropic", env={"ANTHROPIC_API_KEY": SECRET}),
    ):
        assert isinstance(backend, Backend)


def test_model_aliases_resolve_and_can_be_overridden() -> None:
    cfg = BackendConfig()
    assert resolve_model("sonnet", cfg) == DEFAULT_MODEL_ALIASES["sonnet"]
    assert resolve_model("Opus", cfg) == DEFAULT_MODEL_ALIASES["opus"]
    assert resolve_model(None, cfg) == DEFAULT_MODEL_ALIASES["sonnet"]
    assert resolve_model("claude-some-exact-id", cfg) == "claude-some-exact-id"
    custom = BackendConfig(model_aliases={"haiku": "claude-tiny-9"}, default_model="haiku")
    assert resolve_model(None, custom) == "claude-tiny-9"


# --------------------------------------------------------------------------- simulated


async def test_simulated_output_is_labelled_and_deterministic() -> None:
    request = SessionRequest(
        prompt="Research " + "quantum computing " * 20,
        model="opus",
        context=(ContextItem("plan", "..."), ContextItem("notes", "...")),
        memory="earlier",
    )
    a = await SimulatedBackend().run_session(request)
    b = await SimulatedBackend().run_session(request)
    assert a == b
    assert a.text.startswith("[simulated opus] Research quantum computing")
    assert "…" in a.text and len(a.text) < 200
    assert "plan, notes" in a.text and "memory" in a.text
    assert a.usage.input_tokens > 0 and a.usage.output_tokens > 0


@pytest.mark.parametrize("condition", ["the code is bug-free", "all tests pass", "done", "x", "complete"])
async def test_simulated_judge_lets_until_and_while_loops_end(condition: str) -> None:
    backend = SimulatedBackend()
    checks = 0
    while not await backend.judge(condition, ()):  # loop until
        checks += 1
        assert checks < 3
    checks = 0
    while await backend.judge(condition, ()):  # loop while
        checks += 1
        assert checks < 3
    # Fresh backends agree: the answers depend only on the condition text and call count.
    assert [await SimulatedBackend().judge(condition, ()) for _ in range(2)] == [
        await SimulatedBackend().judge(condition, ()) for _ in range(2)
    ]


async def test_simulated_judge_is_not_constant_across_conditions() -> None:
    firsts = {await SimulatedBackend().judge(f"condition {i}", ()) for i in range(20)}
    assert firsts == {True, False}


async def test_simulated_choose_is_deterministic_and_in_range() -> None:
    options = ("Critical", "Minor", "Cosmetic")
    picks = [await SimulatedBackend().choose(f"severity {i}", options, ()) for i in range(30)]
    assert all(0 <= p < 3 for p in picks) and len(set(picks)) > 1
    assert picks == [await SimulatedBackend().choose(f"severity {i}", options, ()) for i in range(30)]
    with pytest.raises(BackendError, match="no options"):
        await SimulatedBackend().choose("x", (), ())


async def test_simulated_delay_is_cancellable() -> None:
    backend = SimulatedBackend(BackendConfig(simulated_delay=30))
    start = trio.current_time()
    with trio.move_on_after(0.05) as scope:
        await backend.run_session(SessionRequest(prompt="slow"))
    assert scope.cancelled_caught
    assert trio.current_time() - start < 1


# --------------------------------------------------------------------------- scripted


async def test_scripted_first_matching_rule_then_default(tmp_path: Path) -> None:
    backend = make_backend(
        "scripted",
        env={},
        script=write_script(
            tmp_path,
            {
                "sessions": [
                    {"match": "Research", "output": "research notes"},
                    {"match": "Research quantum", "output": "never reached"},
                ],
                "default": {"output": "fallback"},
            },
        ),
    )
    assert (await backend.run_session(SessionRequest(prompt="Research quantum things"))).text == "research notes"
    assert (await backend.run_session(SessionRequest(prompt="Summarise"))).text == "fallback"


async def test_scripted_times_limits_a_rule_for_retry_tests(tmp_path: Path) -> None:
    backend = ScriptedBackend.from_file(
        write_script(
            tmp_path,
            {
                "sessions": [
                    {"match": "Flaky", "fail": "API timeout", "times": 2},
                    {"match": "Flaky", "output": "finally"},
                ]
            },
        )
    )
    for _ in range(2):
        with pytest.raises(BackendError, match="^API timeout$"):
            await backend.run_session(SessionRequest(prompt="Flaky API call"))
    assert (await backend.run_session(SessionRequest(prompt="Flaky API call"))).text == "finally"
    assert (await backend.run_session(SessionRequest(prompt="Flaky API call"))).text == "finally"


async def test_scripted_without_match_or_default_is_an_error(tmp_path: Path) -> None:
    backend = ScriptedBackend.from_file(write_script(tmp_path, {"sessions": [{"match": "A", "output": "a"}]}))
    with pytest.raises(BackendError, match="no session rule matches prompt 'B'"):
        await backend.run_session(SessionRequest(prompt="B"))


async def test_scripted_delays_decide_a_race_and_losers_are_cancelled(tmp_path: Path) -> None:
    backend = ScriptedBackend.from_file(
        write_script(
            tmp_path,
            {
                "sessions": [
                    {"match": "Fast", "delay": 0.05, "output": "fast"},
                    {"match": "Slow", "delay": 30, "output": "slow"},
                ]
            },
        )
    )
    winner: list[str] = []
    start = trio.current_time()
    async with trio.open_nursery() as nursery:

        async def branch(prompt: str) -> None:
            result = await backend.run_session(SessionRequest(prompt=prompt))
            winner.append(result.text)
            nursery.cancel_scope.cancel()

        nursery.start_soon(branch, "Slow fallback")
        nursery.start_soon(branch, "Fast path")
    assert winner == ["fast"]
    assert trio.current_time() - start < 2


async def test_scripted_condition_answers_in_order_last_repeats(tmp_path: Path) -> None:
    backend = ScriptedBackend.from_file(
        write_script(
            tmp_path,
            {"conditions": [{"match": "bug-free", "answers": [False, False, True]}, {"match": "", "answers": [True]}]},
        )
    )
    answers = [await backend.judge("the code is bug-free", ()) for _ in range(5)]
    assert answers == [False, False, True, True, True]
    assert await backend.judge("anything else", ()) is True


async def test_scripted_choices_by_label(tmp_path: Path) -> None:
    backend = ScriptedBackend.from_file(
        write_script(
            tmp_path,
            {"choices": [{"match": "severity", "option": "Minor"}, {"match": "mood", "option": "Happy"}]},
        )
    )
    assert await backend.choose("the severity level", ("Critical", "Minor"), ()) == 1
    with pytest.raises(BackendError, match=r"'Happy'.*not among the options \('Sad', 'Angry'\)"):
        await backend.choose("the mood", ("Sad", "Angry"), ())
    with pytest.raises(BackendError, match="no choice rule"):
        await backend.choose("unmatched", ("A",), ())


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"sessions": [\n  {"match": "a", "output": "x"},\n  oops\n]}', r"script\.json:3:3: invalid JSON"),
        ('{"sesions": []}', r"top level: unknown key 'sesions'"),
        ('{"sessions": [{"match": "a"}]}', r"sessions\[0\]: needs exactly one of 'output' or 'fail'"),
        ('{"sessions": [{"match": "a", "output": "x", "fail": "y"}]}', r"sessions\[0\]: needs exactly one"),
        ('{"sessions": [{"output": "x"}]}', r"sessions\[0\]: missing required key 'match'"),
        ('{"sessions": [{"match": "a", "output": "x", "delay": -1}]}', r"sessions\[0\]\.delay: expected a non-neg"),
        ('{"sessions": [{"match": "a", "output": "x", "times": 0}]}', r"sessions\[0\]\.times: expected a positive"),
        ('{"sessions": {"match": "a"}}', r"sessions: expected a list, got an object"),
        ('{"conditions": [{"match": "a", "answers": []}]}', r"conditions\[0\]\.answers: expected a non-empty"),
        ('{"conditions": [{"match": "a", "answers": ["yes"]}]}', r"conditions\[0\]\.answers"),
        ('{"choices": [{"match": "a", "option": 2}]}', r"choices\[0\]\.option: expected a string, got a number"),
        ('{"default": {"output": "x", "match": "y"}}', r"default: unknown key 'match'"),
        ("[]", r"top level: expected an object, got a list"),
    ],
)
def test_invalid_scripts_explain_where_and_what(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "script.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ScriptError, match=expected) as info:
        make_backend("scripted", script=path, env={})
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)
    # No chained JSON/OS exception, so the CLI can print just this one line.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_missing_script_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match=r"nope\.json: script file not found"):
        make_backend("scripted", script=tmp_path / "nope.json", env={})


# --------------------------------------------------------------------------- anthropic (real SDK, fake server)


async def test_anthropic_streams_a_session(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.enqueue(Reply.ok("The answer is 42.", input_tokens=120, output_tokens=7, chunks=4))
    backend = anthropic_for(fake_messages_api)
    request = SessionRequest(
        prompt="Write the summary",
        system="You are a careful researcher",
        model="opus",
        context=(ContextItem("research", "Findings A"), ContextItem("plan", "Step 1")),
        memory="We decided on JWT.",
        agent="captain",
    )
    result = await backend.run_session(request)
    await backend.aclose()
    assert result == SessionResult(
        text="The answer is 42.", usage=result.usage, model=DEFAULT_MODEL_ALIASES["opus"]
    )
    assert (result.usage.input_tokens, result.usage.output_tokens) == (120, 7)
    [sent] = fake_messages_api.requests
    assert sent.path == "/v1/messages"
    assert sent.body["stream"] is True
    assert sent.body["model"] == DEFAULT_MODEL_ALIASES["opus"]
    assert sent.body["system"] == "You are a careful researcher"
    assert sent.body["max_tokens"] == FAST.max_tokens
    user = sent.user_text
    assert user == render_user_message(request)
    assert '<context name="research">\nFindings A\n</context>' in user
    assert '<context name="plan">\nStep 1\n</context>' in user
    assert "<memory>\nWe decided on JWT.\n</memory>" in user
    assert user.endswith("<task>\nWrite the summary\n</task>")
    assert user.index("research") < user.index("plan") < user.index("<task>")


async def test_anthropic_plain_prompt_is_sent_unwrapped(fake_messages_api: FakeMessagesAPI) -> None:
    backend = make_backend(
        "anthropic",
        config=BackendConfig(model_aliases={"sonnet": "claude-custom-id"}, base_url=fake_messages_api.base_url),
        env={"ANTHROPIC_API_KEY": SECRET},
    )
    result = await backend.run_session(SessionRequest(prompt="Just do it"))
    await backend.aclose()
    [sent] = fake_messages_api.requests
    assert sent.user_text == "Just do it"
    assert "system" not in sent.body
    assert sent.body["model"] == "claude-custom-id" == result.model
    assert result.text == "echo: Just do it"


async def test_anthropic_retries_429_honouring_retry_after(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.enqueue(Reply.error(429, "slow down", retry_after=0.3), Reply.ok("second time lucky"))
    backend = anthropic_for(fake_messages_api)
    start = trio.current_time()
    result = await backend.run_session(SessionRequest(prompt="hi"))
    elapsed = trio.current_time() - start
    await backend.aclose()
    assert result.text == "second time lucky"
    assert len(fake_messages_api.requests) == 2
    assert elapsed >= 0.3  # FAST's own backoff is 0.01s, so only retry-after explains this


@pytest.mark.parametrize("status", [500, 503, 529])
async def test_anthropic_retries_server_errors(fake_messages_api: FakeMessagesAPI, status: int) -> None:
    fake_messages_api.enqueue(Reply.error(status, "boom"), Reply.error(status, "boom"), Reply.ok("recovered"))
    backend = anthropic_for(fake_messages_api)
    assert (await backend.run_session(SessionRequest(prompt="hi"))).text == "recovered"
    await backend.aclose()
    assert len(fake_messages_api.requests) == 3


async def test_anthropic_retry_attempts_are_bounded(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.route("", Reply.error(503, "still down"))
    backend = anthropic_for(fake_messages_api)
    with pytest.raises(BackendError) as info:
        await backend.run_session(SessionRequest(prompt="hi"))
    await backend.aclose()
    assert len(fake_messages_api.requests) == FAST.max_attempts == 3
    message = str(info.value)
    assert "503" in message and "still down" in message and "3 attempts" in message


async def test_anthropic_retries_overload_in_the_middle_of_a_stream(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.enqueue(Reply.ok("partial text", stream_error="overloaded_error"), Reply.ok("complete"))
    backend = anthropic_for(fake_messages_api)
    assert (await backend.run_session(SessionRequest(prompt="hi"))).text == "complete"
    await backend.aclose()
    assert len(fake_messages_api.requests) == 2


async def test_anthropic_retries_a_connection_dropped_mid_stream(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.enqueue(Reply.ok("half of it", hang_up=True), Reply.ok("all of it"))
    backend = anthropic_for(fake_messages_api)
    assert (await backend.run_session(SessionRequest(prompt="hi"))).text == "all of it"
    fake_messages_api.route("again", Reply.ok("half", hang_up=True))
    with pytest.raises(BackendError, match=r"lost its connection .* after 3 attempt"):
        await backend.run_session(SessionRequest(prompt="again"))
    await backend.aclose()
    assert len(fake_messages_api.requests) == 2 + 3


async def test_anthropic_client_errors_are_not_retried(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.enqueue(Reply.error(400, "max_tokens: too large"))
    backend = anthropic_for(fake_messages_api)
    with pytest.raises(BackendError, match=r"Anthropic API error 400 \(invalid_request_error\): max_tokens: too large"):
        await backend.run_session(SessionRequest(prompt="hi"))
    await backend.aclose()
    assert len(fake_messages_api.requests) == 1


async def test_api_key_never_appears_in_errors_logs_or_reprs(
    fake_messages_api: FakeMessagesAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_messages_api.required_key = "a-different-key"  # the server echoes the key it got into the 401
    backend = anthropic_for(fake_messages_api)
    with pytest.raises(BackendError) as info:
        await backend.run_session(SessionRequest(prompt="hi"))
    await backend.aclose()
    # The fake really did receive (and echo) the key, so the scrubbing is what keeps it out.
    assert fake_messages_api.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    error = info.value
    assert error.__cause__ is None and error.__context__ is None  # the SDK error (with headers) is not attached
    rendered = "".join(traceback.format_exception(error))
    for text in (str(error), repr(error), rendered, repr(backend), caplog.text):
        assert SECRET not in text
    assert "401" in str(error) and "ANTHROPIC_API_KEY" in str(error) and "[redacted]" in str(error)


async def test_connection_failures_become_backend_errors() -> None:
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = make_backend(
        "anthropic",
        config=FAST,
        env={"ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}"},
    )
    with pytest.raises(BackendError, match=r"could not connect .* after 3 attempt") as info:
        await backend.run_session(SessionRequest(prompt="hi"))
    await backend.aclose()
    assert SECRET not in str(info.value)


async def test_cancelling_a_session_mid_stream_stops_promptly(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.enqueue(Reply.slow("x" * 100, chunks=400, chunk_delay=0.05))  # ~20 s if read to the end
    backend = anthropic_for(fake_messages_api)
    start = trio.current_time()
    with trio.move_on_after(0.5) as scope:
        await backend.run_session(SessionRequest(prompt="long essay"))
    assert scope.cancelled_caught
    assert trio.current_time() - start < 1.5
    [sent] = fake_messages_api.requests
    with trio.fail_after(3):  # the server sees the connection drop: nothing keeps reading in the background
        while not sent.client_disconnected:
            await trio.sleep(0.02)
    assert not sent.finished
    await backend.aclose()


async def test_cancelling_while_waiting_for_the_server(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.enqueue(Reply.ok("late", delay=30))
    backend = anthropic_for(fake_messages_api)
    with trio.move_on_after(0.3) as scope:
        await backend.run_session(SessionRequest(prompt="hello?"))
    assert scope.cancelled_caught
    with trio.fail_after(3):
        while not (fake_messages_api.requests and fake_messages_api.requests[0].client_disconnected):
            await trio.sleep(0.02)
    await backend.aclose()


async def test_first_race_cancels_the_losing_request(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.route("Slow fallback", Reply.slow("slow", chunks=400, chunk_delay=0.05))
    # The fast reply waits a little so the slow request is surely on the wire when it loses.
    fake_messages_api.route("Fast path", Reply.ok("fast", delay=0.3))
    backend = anthropic_for(fake_messages_api)
    results: list[str] = []
    async with trio.open_nursery() as nursery:

        async def branch(prompt: str) -> None:
            results.append((await backend.run_session(SessionRequest(prompt=prompt))).text)
            nursery.cancel_scope.cancel()

        nursery.start_soon(branch, "Slow fallback")
        nursery.start_soon(branch, "Fast path")
    assert results == ["fast"]
    slow = next(r for r in fake_messages_api.requests if "Slow" in r.user_text)
    with trio.fail_after(3):
        while not slow.client_disconnected:
            await trio.sleep(0.02)
    # The shared client still works after a cancelled request.
    assert (await backend.run_session(SessionRequest(prompt="Fast path"))).text == "fast"
    await backend.aclose()


async def test_anthropic_backend_starts_no_threads(
    fake_messages_api: FakeMessagesAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_threads(*args: object, **kwargs: object) -> None:
        raise AssertionError("runtime code must not use worker threads")

    monkeypatch.setattr(anyio.to_thread, "run_sync", no_threads)
    monkeypatch.setattr(trio.to_thread, "run_sync", no_threads)
    backend = anthropic_for(fake_messages_api)
    assert (await backend.run_session(SessionRequest(prompt="ping"))).text == "echo: ping"
    await backend.aclose()


@pytest.mark.parametrize(("reply", "expected"), [("YES", True), ("no.", False), ("**Yes** - it holds", True)])
async def test_anthropic_judge(fake_messages_api: FakeMessagesAPI, reply: str, expected: bool) -> None:
    fake_messages_api.route("<condition>", Reply.ok(reply))
    backend = make_backend(
        "anthropic",
        config=BackendConfig(judge_model="haiku", base_url=fake_messages_api.base_url),
        env={"ANTHROPIC_API_KEY": SECRET},
    )
    assert await backend.judge("the tests pass", (ContextItem("report", "3 failures"),)) is expected
    await backend.aclose()
    [sent] = fake_messages_api.requests
    assert sent.body["model"] == DEFAULT_MODEL_ALIASES["haiku"]
    assert "<condition>\nthe tests pass\n</condition>" in sent.user_text
    assert '<context name="report">\n3 failures\n</context>' in sent.user_text
    assert "YES or NO" in sent.body["system"]


async def test_anthropic_judge_rejects_unclear_answers(fake_messages_api: FakeMessagesAPI) -> None:
    fake_messages_api.route("<condition>", Reply.ok("It depends on the weather"))
    backend = anthropic_for(fake_messages_api)
    with pytest.raises(BackendError, match=r"YES/NO answer for condition \*\*done\*\*.*It depends"):
        await backend.judge("done", ())
    await backend.aclose()


@pytest.mark.parametrize(("reply", "expected"), [("2", 1), ("Option 3", 2), ("minor", 1), (" 1.", 0)])
async def test_anthropic_choose(fake_messages_api: FakeMessagesAPI, reply: str, expected: int) -> None:
    fake_messages_api.route("<options>", Reply.ok(reply))
    backend = anthropic_for(fake_messages_api)
    assert await backend.choose("severity", ("Critical", "Minor", "Cosmetic"), ()) == expected
    await backend.aclose()
    assert "1. Critical\n2. Minor\n3. Cosmetic" in fake_messages_api.requests[0].user_text


@pytest.mark.parametrize("reply", ["7", "the second one", ""])
async def test_anthropic_choose_rejects_unparseable(fake_messages_api: FakeMessagesAPI, reply: str) -> None:
    fake_messages_api.route("<options>", Reply.ok(reply))
    backend = anthropic_for(fake_messages_api)
    with pytest.raises(BackendError, match=r"option number \(1-2\)"):
        await backend.choose("severity", ("Critical", "Minor"), ())
    await backend.aclose()


# --------------------------------------------------------------------------- the fake server itself


async def test_fake_server_plain_json_replies_match_the_sdk(fake_messages_api: FakeMessagesAPI) -> None:
    import anthropic

    fake_messages_api.enqueue(Reply.ok("plain", input_tokens=3, output_tokens=2))
    client = anthropic.AsyncAnthropic(api_key=SECRET, base_url=fake_messages_api.base_url, max_retries=0)
    message = await client.messages.create(
        model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    await client.close()
    assert message.content[0].type == "text" and message.content[0].text == "plain"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (3, 2)
    assert message.stop_reason == "end_turn"
    assert "stream" not in fake_messages_api.requests[0].body

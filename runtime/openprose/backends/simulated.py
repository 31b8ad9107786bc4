"""An offline backend whose answers are fake but deterministic.

It lets `prose run` exercise a whole program (control flow, bindings, state on
disk) without a network or an API key, and makes the same program produce the same
run every time, which tests and demos rely on. It runs no tools: sessions here
cannot read, write or run anything, and every output says so, so a simulated
"review of src/" is never mistaken for one that looked at the code.

Decision rules (all based on ``zlib.crc32``, which, unlike ``hash()``, is stable
across processes):

* ``judge(condition)``: each distinct condition text gets a period ``N`` (2 or 3)
  and a phase from its hash; its k-th evaluation (k = 0, 1, 2, ...) answers True
  exactly when ``(k + phase) % N == 0``. Every window of N consecutive
  evaluations therefore contains both a True and a False, so any
  ``loop until **c**`` ends within N checks and any ``loop while **c**`` within N
  checks too, whether or not the loop has a ``max:``.
* ``choose(criteria, options)``: ``crc32(criteria) % len(options)``.
"""

from __future__ import annotations

import zlib

import trio

from .base import BackendError, ContextItem, SessionRequest, SessionResult, Usage
from .config import BackendConfig

__all__ = ["SimulatedBackend"]

_EXCERPT = 80


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _excerpt(text: str, limit: int = _EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


class SimulatedBackend:
    name = "simulated"

    def __init__(self, config: BackendConfig | None = None) -> None:
        self._config = config or BackendConfig()
        self._judge_calls: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"SimulatedBackend(delay={self._config.simulated_delay})"

    async def _pause(self) -> None:
        # Always a checkpoint, so cancellation (e.g. a lost `first` race) is honoured
        # even with no delay configured.
        if self._config.simulated_delay > 0:
            await trio.sleep(self._config.simulated_delay)
        else:
            await trio.lowlevel.checkpoint()

    async def run_session(self, request: SessionRequest) -> SessionResult:
        await self._pause()
        label = request.model or self._config.default_model
        parts = [f"[simulated {label}] {_excerpt(request.prompt)}"]
        if request.agent:
            parts.append(f"(agent: {request.agent})")
        if request.context:
            parts.append("(context: " + ", ".join(item.name for item in request.context) + ")")
        if request.memory is not None:
            parts.append("(resumed from memory)")
        parts.append("(simulated: no tools were run)")
        text = " ".join(parts)
        sent = len(request.prompt) + sum(len(i.text) for i in request.context) + len(request.system or "")
        # A rough chars/4 estimate, so usage totals are non-zero and plausible in demos.
        usage = Usage(input_tokens=max(1, sent // 4), output_tokens=max(1, len(text) // 4))
        return SessionResult(text=text, usage=usage, model=f"simulated:{label}")

    async def judge(self, condition: str, context: tuple[ContextItem, ...]) -> bool:
        await self._pause()
        h = _stable_hash(condition)
        period = 2 + h % 2
        phase = (h // 2) % period
        k = self._judge_calls.get(condition, 0)
        self._judge_calls[condition] = k + 1
        return (k + phase) % period == 0

    async def choose(self, criteria: str, options: tuple[str, ...], context: tuple[ContextItem, ...]) -> int:
        await self._pause()
        if not options:
            raise BackendError(f"choice **{_excerpt(criteria, 40)}** has no options to choose from")
        return _stable_hash(criteria) % len(options)

    async def aclose(self) -> None:
        return None

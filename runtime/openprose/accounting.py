"""What a run cost: every model call, per model, with an estimated price.

The interpreter charges one ledger per run with the usage each backend result (or
failure) reports — sessions, the extra turns of tool-using sessions, conditions
and choices alike — so `run.end` can say exactly what was sent and billed. Prices
are not code: they live in a JSON data file (``prices.json`` next to this module,
or the file named by ``OPENPROSE_PRICES`` / ``prose run --prices``) that users
update when prices change; a model the file does not know has an unknown cost,
never a made-up one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .backends.base import Usage

__all__ = ["CALL_KINDS", "Ledger", "PriceError", "PriceTable", "format_usage", "load_prices"]

#: The kinds of model call the ledger counts separately.
CALL_KINDS = ("session", "tool_turn", "condition", "choice")
_TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_PRICE_KEYS = ("input", "output", "cache_write", "cache_read")
DEFAULT_PRICES = Path(__file__).with_name("prices.json")


class PriceError(ValueError):
    """The price file is unreadable or malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class PriceTable:
    """Dollars per `per` tokens for each model-id prefix."""

    models: Mapping[str, Mapping[str, float]]
    per: int = 1_000_000
    source: str = ""
    as_of: str = ""

    def price_of(self, model: str | None) -> Mapping[str, float] | None:
        if not model:
            return None
        best = None
        for prefix in self.models:
            if model.startswith(prefix) and (best is None or len(prefix) > len(best)):
                best = prefix
        return self.models[best] if best is not None else None

    def cost(self, model: str | None, usage: Usage) -> float | None:
        price = self.price_of(model)
        if price is None:
            return None
        return (
            usage.input_tokens * price["input"]
            + usage.output_tokens * price["output"]
            + usage.cache_write_tokens * price["cache_write"]
            + usage.cache_read_tokens * price["cache_read"]
        ) / self.per

    def cache_savings(self, model: str | None, usage: Usage) -> float | None:
        """What caching saved against sending the same tokens uncached (negative while only writing)."""
        price = self.price_of(model)
        if price is None:
            return None
        saved = usage.cache_read_tokens * (price["input"] - price["cache_read"])
        extra = usage.cache_write_tokens * (price["cache_write"] - price["input"])
        return (saved - extra) / self.per


def load_prices(path: Path | None = None, env: Mapping[str, str] | None = None) -> PriceTable:
    """The price table from `path`, else ``$OPENPROSE_PRICES``, else the bundled file."""
    env = os.environ if env is None else env
    chosen = Path(path) if path is not None else Path(env["OPENPROSE_PRICES"]) if env.get("OPENPROSE_PRICES") else DEFAULT_PRICES
    try:
        data = json.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PriceError(f"{chosen}: price file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceError(f"{chosen}: cannot read price file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise PriceError(f"{chosen}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise PriceError(f"{chosen}: expected an object with a 'models' object")
    per = data.get("per", 1_000_000)
    if isinstance(per, bool) or not isinstance(per, int) or per <= 0:
        raise PriceError(f"{chosen}: 'per' must be a positive whole number of tokens, got {per!r}")
    models: dict[str, dict[str, float]] = {}
    for prefix, entry in data["models"].items():
        if not isinstance(entry, dict):
            raise PriceError(f"{chosen}: models.{prefix}: expected an object")
        row = {}
        for key in _PRICE_KEYS:
            value = entry.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise PriceError(f"{chosen}: models.{prefix}.{key}: expected a non-negative number, got {value!r}")
            row[key] = float(value)
        models[prefix] = row
    return PriceTable(models, per, str(chosen), str(data.get("as_of", "")))


@dataclass
class _Line:
    usage: Usage = Usage()
    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CALL_KINDS, 0))


class Ledger:
    """Running totals of one run (imported programs charge their caller's ledger)."""

    def __init__(self, prices: PriceTable | None = None) -> None:
        self.prices = prices
        self._models: dict[str, _Line] = {}
        self.sessions = 0  # sessions that finished ok (kept for the older `sessions` field)

    def charge(self, kind: str, model: str | None, usage: Usage, calls: int = 1) -> None:
        """Count `calls` API calls of `kind` that used `usage` in total.

        A session with `calls > 1` made tool turns: its first call is the session,
        the others are counted as `tool_turn`.
        """
        if kind not in CALL_KINDS:
            raise ValueError(f"unknown call kind {kind!r}")
        if calls <= 0 and usage.total == 0:
            return
        line = self._models.setdefault(model or "unknown", _Line())
        line.usage = line.usage + usage
        if kind == "session" and calls > 1:
            line.calls["session"] += 1
            line.calls["tool_turn"] += calls - 1
        else:
            line.calls[kind] += max(calls, 0)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for line in self._models.values():
            total = total + line.usage
        return total

    @property
    def calls(self) -> int:
        return sum(sum(line.calls.values()) for line in self._models.values())

    def cost(self) -> float | None:
        """Estimated dollars, or None when any model used has no price."""
        if self.prices is None:
            return None
        total = 0.0
        for model, line in self._models.items():
            cost = self.prices.cost(model, line.usage)
            if cost is None:
                return None
            total += cost
        return total

    def snapshot(self) -> dict[str, Any]:
        """The JSON shape used in `run.end` and in running totals (docs/accounting.md)."""
        total = self.usage
        out: dict[str, Any] = {key: getattr(total, key) for key in _TOKEN_KEYS}
        out["sessions"] = self.sessions
        calls = dict.fromkeys(CALL_KINDS, 0)
        by_model: dict[str, Any] = {}
        savings: float | None = 0.0
        for model, line in sorted(self._models.items()):
            entry: dict[str, Any] = {key: getattr(line.usage, key) for key in _TOKEN_KEYS}
            entry["calls"] = dict(line.calls)
            for kind, n in line.calls.items():
                calls[kind] += n
            if self.prices is not None:
                cost = self.prices.cost(model, line.usage)
                saved = self.prices.cache_savings(model, line.usage)
                entry["cost_usd"] = None if cost is None else round(cost, 6)
                savings = None if saved is None or savings is None else savings + saved
            by_model[model] = entry
        out["calls"] = {**calls, "total": sum(calls.values())}
        out["by_model"] = by_model
        cost = self.cost()
        out["cost_usd"] = None if cost is None else round(cost, 6)
        out["cache_savings_usd"] = None if savings is None or self.prices is None else round(savings, 6)
        if self.prices is not None:
            out["prices"] = {"file": self.prices.source, "as_of": self.prices.as_of}
        return out


def format_usage(usage: Mapping[str, Any]) -> list[str]:
    """Lines for the end-of-run summary: totals, then one line per model."""

    def tokens(d: Mapping[str, Any]) -> str:
        return (f"in {d.get('input_tokens', 0):,} · out {d.get('output_tokens', 0):,} · "
                f"cache read {d.get('cache_read_tokens', 0):,} · cache write {d.get('cache_write_tokens', 0):,}")

    def money(value: Any) -> str:
        return "cost unknown (no price for a model; see docs/accounting.md)" if value is None else f"≈ ${value:.4f}"

    calls = usage.get("calls") or {}
    parts = [f"{calls.get(k, 0)} {k.replace('_', ' ')}{'' if calls.get(k, 0) == 1 else 's'}" for k in CALL_KINDS if calls.get(k)]
    lines = [f"model calls: {calls.get('total', 0)}" + (f" ({', '.join(parts)})" if parts else "")]
    lines.append(f"tokens: {tokens(usage)}")
    if "cost_usd" in usage:
        saved = usage.get("cache_savings_usd")
        tail = f" · prompt cache saved ${saved:.4f}" if isinstance(saved, (int, float)) and saved > 0 else ""
        lines.append(f"estimated cost: {money(usage.get('cost_usd'))}{tail}")
    by_model = usage.get("by_model") or {}
    if len(by_model) > 1 or any("cost_usd" in e for e in by_model.values()):
        for model, entry in by_model.items():
            cost = f" · {money(entry.get('cost_usd'))}" if "cost_usd" in entry else ""
            lines.append(f"  {model}: {sum((entry.get('calls') or {}).values())} calls · {tokens(entry)}{cost}")
    return lines

"""Generates large, valid OpenProse programs for the benchmarks."""

from __future__ import annotations

import random


def generate_program(lines: int = 5000, seed: int = 7) -> str:
    """A program of roughly `lines` lines mixing every common construct."""
    rng = random.Random(seed)
    out: list[str] = ['input topic: "What to research"', ""]
    agents = []
    for i in range(8):
        name = f"agent-{i}"
        agents.append(name)
        out += [f"agent {name}:", f"  model: {rng.choice(['sonnet', 'opus', 'haiku'])}",
                f'  prompt: "You are helper number {i}"', ""]
    n = 0
    while len(out) < lines:
        n += 1
        kind = n % 6
        if kind == 0:
            out += [f'let v{n} = session "Research {{topic}} part {n}"', "  context: topic"]
        elif kind == 1:
            out += ["parallel (first, on-fail: continue):",
                    f'  a{n} = session: {rng.choice(agents)}', f'    prompt: "Angle A of {n}"',
                    f'  b{n} = session "Angle B of {n}"']
        elif kind == 2:
            out += [f"loop until **draft {n} is polished** (max: 3) as i{n}:",
                    f'  session "Revise {n} pass {{i{n}}}"', f"    context: v{n - 2}"]
        elif kind == 3:
            out += [f'let items{n} = ["x", "y", "z"]', f"let mapped{n} = items{n} | map:",
                    '  session "Expand {item}"']
        elif kind == 4:
            out += ["if **the result looks complete**:", f'  session "Finish {n}"', "else:",
                    f'  session "Continue {n}"', "    retry: 2", "    backoff: exponential"]
        else:
            out += [f"# step {n}", f'session "Summarize step {n}"', f"  context: {{ a{n - 4}, b{n - 4} }}"]
        out.append("")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(generate_program())

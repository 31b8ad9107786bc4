/**
 * The recorded event stream of a real run (tests/fixtures/run_events.jsonl, shared
 * with the Python and Neovim tests) replayed through the run log and the runs tree,
 * and the TypeScript event types checked against the generated schema
 * (docs/run-events.schema.json).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { RUN_END_STATUSES, RUN_EVENT_TYPES, RunEvent, RunEventParams, RunTracker, TOOL_END_STATUSES } from '../src/runLog';
import { RunTreeNode, RunTreeRow, childrenOf, rowOf } from '../src/runTreeModel';
import { EXTENSION_ROOT } from './textmate';

const REPO = path.resolve(EXTENSION_ROOT, '..');
const SCHEMA = JSON.parse(fs.readFileSync(path.join(REPO, 'docs', 'run-events.schema.json'), 'utf8'));
const EVENTS: RunEvent[] = fs
  .readFileSync(path.join(REPO, 'tests', 'fixtures', 'run_events.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as RunEvent);
const URI = 'file:///tmp/openprose-fixture/run_events.prose';

/** Every field of `RunEvent`: the compiler insists this lists exactly the interface's keys. */
const RUN_EVENT_FIELDS: Record<keyof RunEvent, true> = {
  type: true,
  t: true,
  prompt: true,
  binding: true,
  path: true,
  status: true,
  error: true,
  outputs: true,
  run_dir: true,
  usage: true,
  line: true,
  column: true,
  agent: true,
  model: true,
  code: true,
  answer: true,
  reason: true,
  session: true,
  tool: true,
  summary: true,
  duration: true,
  rule: true,
  totals: true,
  truncated: true,
};

function replay(): { tracker: RunTracker; perEvent: string[][] } {
  const tracker = new RunTracker(20, () => new Date(2026, 0, 1, 12, 0, 0));
  const perEvent = EVENTS.map((event) => tracker.apply({ uri: URI, runId: 'run-1', event } as RunEventParams).lines);
  return { tracker, perEvent };
}

describe('the run-event schema', () => {
  it('has the kinds and statuses the extension knows', () => {
    assert.deepEqual([...RUN_EVENT_TYPES], SCHEMA.$defs.EventType.enum);
    assert.deepEqual([...RUN_END_STATUSES], SCHEMA.$defs.RunStatus.enum);
    assert.deepEqual([...TOOL_END_STATUSES], SCHEMA.$defs.ToolStatus.enum);
  });

  it('has exactly the fields of the RunEvent interface', () => {
    const fields = new Set<string>();
    for (const kind of RUN_EVENT_TYPES) {
      for (const name of Object.keys(SCHEMA.$defs[kind].properties)) {
        fields.add(name);
      }
    }
    assert.deepEqual([...fields].sort(), Object.keys(RUN_EVENT_FIELDS).sort());
  });

  it('is what the recorded stream holds: every kind occurs in it', () => {
    assert.deepEqual(new Set(EVENTS.map((event) => event.type)), new Set(RUN_EVENT_TYPES));
  });
});

describe('the recorded run in the output channel', () => {
  it('gives every event of the stream its line', () => {
    const { perEvent } = replay();
    perEvent.forEach((lines, i) => assert.ok(lines.length > 0, `no line for ${JSON.stringify(EVENTS[i])}`));
  });

  it('shows each step with its outcome', () => {
    const { tracker, perEvent } = replay();
    const text = perEvent.flat().join('\n');
    const expected: RegExp[] = [
      /^▶ Run run-1 started: run_events\.prose \[12:00:00\]$/m,
      /\? input focus: What should the review focus on\?/,
      /▶ started\s+plan = "Plan the work on the tests" \(builder · sonnet\)/,
      /⚙ write: notes\/plan\.md {2}‹ plan = "Plan the work on the tests"/,
      /✔ write: notes\/plan\.md — ok \(\d+\.\d\ds\)/,
      /✔ read: notes\/plan\.md — ok/,
      /✖ read: missing\.txt — error \(\d+\.\d\ds\): read: missing\.txt: no such file or directory/,
      /⊘ write: secret\.txt — denied by write: \['notes\/'\]: permission denied: secret\.txt is not covered/,
      /✔ finished\s+plan = "Plan the work on the tests" \(\d+\.\d\ds\)/,
      /├ branch started\s+\[L14 parallel › quick\]/,
      /├ branch started\s+\[L14 parallel › slow\]/,
      /✔ finished\s+\[L14 parallel › quick\] quick = "Write a quick draft"/,
      /└ branch finished\s+\[L14 parallel › quick\]/,
      /■ cancelled\s+\[L14 parallel › slow\] slow = "Write a slow draft"/,
      /└ branch cancelled\s+\[L14 parallel › slow\]/,
      /✖ failed\s+"Run the flaky step" \(\d+\.\d\ds\): the step broke/,
      /✔ finished\s+"Recover from the step broke"/,
      /◆ \*\*the draft is good\*\* → no · good after one more pass/,
      /◆ \*\*the draft is good\*\* → yes · good after one more pass/,
      /◆ choice \*\*which reviewer fits the draft\*\* → Gentle · the draft is early/,
      /✔ finished\s+"Review gently"/,
      /⚠ warning \(line 32\): session "Say nothing" returned no text/,
      /✔ finished\s+result = "Summarize 1\. write notes 2\. review them and a quick draft"/,
      /✔ Run run-1 finished in \d+\.\d\ds: run_events\.prose/,
      /Outputs:\n {4}result: the plan, drafted and reviewed/,
      /Usage: 7 model calls \(7 sessions\) · in 0 · out 0 · cache read 0 · cache write 0 · ≈ \$0\.0000/,
      /scripted: 7 calls/,
      /Run directory: \/tmp\/openprose-fixture\/\.prose\/runs\/20260101-000000-f1x7re/,
    ];
    for (const pattern of expected) {
      assert.match(text, pattern);
    }
    const run = tracker.get('run-1')!;
    assert.equal(run.status, 'ok');
    assert.deepEqual(run.outputs, { result: 'the plan, drafted and reviewed' });
    assert.deepEqual(
      run.branches.map((b) => [b.path.join(' › '), b.status]).sort(),
      [
        ['L14 parallel › quick', 'ok'],
        ['L14 parallel › slow', 'cancelled'],
      ],
    );
  });
});

describe('the recorded run in the runs tree', () => {
  it('shows the run, every session and every tool call with its outcome', () => {
    const { tracker } = replay();
    const [runNode, ...others] = childrenOf(tracker);
    assert.equal(others.length, 0);
    const runRow = rowOf(runNode);
    assert.equal(runRow.label, 'run_events.prose');
    assert.match(runRow.description, /^ok · \d+\.\d\ds$/);
    assert.deepEqual(runRow.icon, { id: 'pass', color: 'testing.iconPassed' });
    assert.equal(runRow.contextValue, 'openprose.run.finished');
    assert.match(runRow.tooltip, /Run directory: \/tmp\/openprose-fixture\/\.prose\/runs\//);

    const sessions = childrenOf(tracker, runNode);
    const rows = sessions.map((node) => rowOf(node));
    const starts = EVENTS.filter((event) => event.type === 'session.start');
    assert.equal(rows.length, starts.length);
    const byLabel = new Map<string, RunTreeRow>(rows.map((row) => [row.label, row]));
    const status = (label: string) => byLabel.get(label)?.description.split(' ')[0];
    assert.equal(status('plan = "Plan the work on the tests"'), 'ok');
    assert.equal(status('[L14 parallel › quick] quick = "Write a quick draft"'), 'ok');
    assert.equal(status('[L14 parallel › slow] slow = "Write a slow draft"'), 'cancelled');
    assert.equal(status('"Run the flaky step"'), 'failed');
    assert.equal(byLabel.get('"Run the flaky step"')!.tooltip, 'Run the flaky step\n\nError: the step broke');
    assert.deepEqual(byLabel.get('"Run the flaky step"')!.icon, { id: 'error', color: 'testing.iconFailed' });
    for (const label of ['"Recover from the step broke"', '"Improve the draft"', '"Review gently"', '"Say nothing"']) {
      assert.equal(status(label), 'ok', label);
    }

    const plan = sessions.find((node) => rowOf(node).label.startsWith('plan = ')) as RunTreeNode;
    assert.equal(rowOf(plan).collapsible, 'collapsed');
    const tools = childrenOf(tracker, plan).map((node) => rowOf(node));
    assert.deepEqual(
      tools.map((row) => [row.label, row.description.replace(/\d+\.\d\ds/, 'N')]),
      [
        ['write: notes/plan.md', 'ok · N'],
        ['read: notes/plan.md', 'ok · N'],
        ['read: missing.txt', 'error · N'],
        ['write: secret.txt', "denied by write: ['notes/']"],
      ],
    );
    assert.deepEqual(
      tools.map((row) => row.icon.id),
      ['check', 'check', 'error', 'shield'],
    );
    assert.match(tools[3].tooltip, /^write: secret\.txt\nDenied by write: \['notes\/'\]\nReason: permission denied/);
    const toolEvents = EVENTS.filter((event) => event.type === 'tool.start').length;
    const allTools = sessions.flatMap((node) => childrenOf(tracker, node));
    assert.equal(allTools.length, toolEvents);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RunEventParams,
  RunTracker,
  displayName,
  excerpt,
  formatDuration,
  formatOutputs,
  parseRunArgument,
  parseRunEventParams,
  sessionLabel,
  toolLabel,
  toolOutcome,
} from '../src/runLog';

const URI = 'file:///work/demo/review%20flow.prose';

function event(runId: string, type: string, t: number, extra: Record<string, unknown> = {}): RunEventParams {
  return {
    uri: URI,
    runId,
    event: {
      type,
      t,
      prompt: null,
      binding: null,
      path: null,
      status: null,
      error: null,
      outputs: null,
      run_dir: null,
      usage: null,
      ...extra,
    },
  };
}

describe('run log formatting', () => {
  it('formats durations', () => {
    assert.equal(formatDuration(0), '0.00s');
    assert.equal(formatDuration(1.234), '1.23s');
    assert.equal(formatDuration(75.5), '1m15.5s');
    assert.equal(formatDuration(-1), '?');
  });

  it('names files and shortens prompts', () => {
    assert.equal(displayName(URI), 'review flow.prose');
    assert.equal(excerpt('short'), 'short');
    assert.equal(excerpt('\nfirst line\nsecond'), 'first line …');
    assert.equal(excerpt('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
  });

  it('labels sessions with their branch path and binding', () => {
    assert.equal(sessionLabel({ prompt: 'Find A', binding: 'a', path: ['parallel', 'a'] }), '[parallel › a] a = "Find A"');
    assert.equal(sessionLabel({ prompt: 'Hello', binding: null, path: [] }), '"Hello"');
    assert.equal(sessionLabel({ prompt: null, binding: null, path: [] }), 'session');
  });

  it('rejects malformed notifications', () => {
    assert.equal(parseRunEventParams(null), undefined);
    assert.equal(parseRunEventParams({ runId: 1, event: { type: 'run.start' } }), undefined);
    assert.equal(parseRunEventParams({ runId: 'r', event: {} }), undefined);
    assert.deepEqual(parseRunEventParams({ runId: 'r', uri: URI, event: { type: 'run.start', t: 1 } }), {
      runId: 'r',
      uri: URI,
      event: { type: 'run.start', t: 1 },
    });
  });

  it('follows a parallel run from start to outputs', () => {
    const tracker = new RunTracker();
    const lines: string[] = [];
    const feed = (params: RunEventParams) => {
      const result = tracker.apply(params);
      lines.push(...result.lines);
      return result;
    };
    const start = feed(event('r1', 'run.start', 100));
    assert.equal(start.runStateChanged, true);
    assert.equal(tracker.active().length, 1);
    feed(event('r1', 'session.start', 100.5, { prompt: 'Approach A', binding: 'a', path: ['parallel', 'a'] }));
    feed(event('r1', 'session.start', 100.5, { prompt: 'Approach B', binding: 'b', path: ['parallel', 'b'] }));
    feed(event('r1', 'session.end', 101.5, { prompt: 'Approach A', binding: 'a', path: ['parallel', 'a'], status: 'ok' }));
    feed(
      event('r1', 'session.end', 101.6, {
        prompt: 'Approach B',
        binding: 'b',
        path: ['parallel', 'b'],
        status: 'cancelled',
      }),
    );
    const end = feed(
      event('r1', 'run.end', 102, {
        status: 'ok',
        outputs: { summary: 'All good', details: { score: 3 } },
        run_dir: '/tmp/.prose/runs/r1',
        usage: { input_tokens: 10, output_tokens: 20 },
      }),
    );
    assert.equal(end.runStateChanged, true);
    assert.equal(tracker.active().length, 0);
    const text = lines.join('\n');
    assert.match(lines[0], /^▶ Run r1 started: review flow\.prose \[\d\d:\d\d:\d\d\]$/);
    assert.match(text, /\+0\.50s\s+▶ started\s+\[parallel › a\] a = "Approach A"/);
    assert.match(text, /\+1\.50s\s+✔ finished\s+\[parallel › a\] a = "Approach A" \(1\.00s\)/);
    assert.match(text, /■ cancelled\s+\[parallel › b\] b = "Approach B" \(1\.10s\)/);
    assert.match(text, /✔ Run r1 finished in 2\.00s: review flow\.prose/);
    assert.match(text, /Outputs:\n {4}summary: All good\n {4}details:\n {6}\{\n {8}"score": 3\n {6}\}/);
    assert.match(text, /Usage: input_tokens=10, output_tokens=20/);
    assert.match(text, /Run directory: \/tmp\/\.prose\/runs\/r1/);
    const run = tracker.get('r1')!;
    assert.deepEqual(
      run.sessions.map((s) => [s.binding, s.status]),
      [
        ['a', 'ok'],
        ['b', 'cancelled'],
      ],
    );
  });

  it('reports failures with their error, and failed runs with theirs', () => {
    const tracker = new RunTracker();
    tracker.apply(event('r2', 'run.start', 5));
    tracker.apply(event('r2', 'session.start', 5, { prompt: 'Risky' }));
    const failed = tracker.apply(event('r2', 'session.end', 6, { prompt: 'Risky', status: 'failed', error: 'boom' }));
    assert.match(failed.lines[0], /✖ failed\s+"Risky" \(1\.00s\): boom/);
    const end = tracker.apply(event('r2', 'run.end', 7, { status: 'failed', error: 'Session failed: boom' }));
    assert.match(end.lines.join('\n'), /✖ Run r2 failed in 2\.00s[^\n]*\n {2}Error: Session failed: boom/);
    assert.equal(tracker.get('r2')!.status, 'failed');
  });

  it('matches session ends by path when prompts differ and tolerates missing starts', () => {
    const tracker = new RunTracker();
    tracker.apply(event('r3', 'session.start', 1, { prompt: 'p', path: ['x'] }));
    tracker.apply(event('r3', 'session.end', 2, { prompt: 'p (resolved)', path: ['x'], status: 'ok' }));
    assert.equal(tracker.get('r3')!.sessions.length, 1);
    tracker.apply(event('r3', 'session.end', 3, { prompt: 'orphan', status: 'ok' }));
    assert.equal(tracker.get('r3')!.sessions.length, 2);
  });

  it('marks open sessions cancelled when the run ends or the server goes away', () => {
    const tracker = new RunTracker();
    tracker.apply(event('r4', 'run.start', 0));
    tracker.apply(event('r4', 'session.start', 0, { prompt: 'slow' }));
    const lines = tracker.abandonAll('the language server stopped');
    assert.match(lines[0], /Run r4 .* ended: the language server stopped/);
    assert.equal(tracker.get('r4')!.status, 'cancelled');
    assert.equal(tracker.get('r4')!.sessions[0].status, 'cancelled');
    assert.equal(tracker.active().length, 0);
  });

  it('keeps a bounded number of finished runs', () => {
    const tracker = new RunTracker(3);
    for (let i = 0; i < 6; i++) {
      tracker.apply(event(`r${i}`, 'run.start', i));
      tracker.apply(event(`r${i}`, 'run.end', i + 1, { status: 'ok' }));
    }
    assert.deepEqual(
      tracker.all().map((r) => r.runId),
      ['r3', 'r4', 'r5'],
    );
    tracker.clearFinished();
    assert.equal(tracker.all().length, 0);
  });

  it('logs parallel branches, warnings and agents', () => {
    const tracker = new RunTracker();
    tracker.apply(event('b1', 'run.start', 0, { run_dir: '/tmp/run' }));
    const started = tracker.apply(event('b1', 'branch.start', 0.25, { path: ['parallel@3', 'a'] }));
    assert.match(started.lines[0], /\+0\.25s\s+├ branch started\s+\[parallel@3 › a\]/);
    const session = tracker.apply(
      event('b1', 'session.start', 0.3, { prompt: 'Go', path: ['parallel@3', 'a'], agent: 'writer', model: 'haiku' }),
    );
    assert.match(session.lines[0], /"Go" \(writer · haiku\)$/);
    const failed = tracker.apply(
      event('b1', 'branch.end', 1.25, { path: ['parallel@3', 'a'], status: 'failed', error: 'no luck' }),
    );
    assert.match(failed.lines[0], /└ branch failed\s+\[parallel@3 › a\] \(1\.00s\): no luck/);
    const warning = tracker.apply(event('b1', 'warning', 1.3, { error: 'count ignored', line: 4 }));
    assert.match(warning.lines[0], /⚠ warning \(line 4\): count ignored/);
    assert.equal(tracker.get('b1')!.runDir, '/tmp/run');
    tracker.apply(event('b1', 'branch.start', 1.4, { path: ['parallel@3', 'b'] }));
    const cancelled = tracker.apply(event('b1', 'branch.end', 1.5, { path: ['parallel@3', 'b'], status: 'cancelled' }));
    assert.match(cancelled.lines[0], /└ branch cancelled \[parallel@3 › b\] \(0\.10s\)$/);
  });

  it('treats a run.start for a finished run id as a new run (the server was restarted)', () => {
    const tracker = new RunTracker();
    tracker.apply(event('run-1', 'run.start', 0));
    tracker.apply(event('run-1', 'run.end', 1, { status: 'ok', outputs: {} }));
    const again = tracker.apply({ ...event('run-1', 'run.start', 0), uri: 'file:///other/hello.prose' });
    assert.match(again.lines[0], /started: hello\.prose/);
    assert.equal(tracker.get('run-1')!.status, 'running');
    assert.equal(tracker.all().length, 1);
  });

  it('logs conditions and choices with their answers', () => {
    const tracker = new RunTracker();
    tracker.apply(event('c1', 'run.start', 0));
    const condition = tracker.apply(event('c1', 'condition', 0.5, { prompt: 'the draft is good', answer: 'no' }));
    assert.match(condition.lines[0], /\+0\.50s\s+◆ \*\*the draft is good\*\* → no$/);
    const choice = tracker.apply(event('c1', 'choice', 0.6, { prompt: 'which tone', answer: 'casual' }));
    assert.match(choice.lines[0], /◆ choice \*\*which tone\*\* → casual$/);
  });

  it('omits durations it cannot know (a run.end with t = 0 after an error)', () => {
    const tracker = new RunTracker();
    tracker.apply(event('e1', 'run.start', 0));
    tracker.apply(event('e1', 'session.start', 2, { prompt: 'x' }));
    const end = tracker.apply(event('e1', 'run.end', 0, { status: 'failed', error: 'internal error' }));
    assert.match(end.lines[0], /^✖ Run e1 failed: review flow\.prose$/);
    assert.ok(!end.lines.join('\n').includes('?'));
  });

  it('splits run command arguments into target and options', () => {
    const uriLike = { scheme: 'file', path: '/a.prose' };
    assert.deepEqual(parseRunArgument(undefined), { target: undefined, options: {} });
    assert.deepEqual(parseRunArgument('file:///a.prose'), { target: 'file:///a.prose', options: {} });
    assert.deepEqual(parseRunArgument(uriLike), { target: uriLike, options: {} });
    assert.deepEqual(
      parseRunArgument({ uri: 'file:///a.prose', backend: 'scripted', script: 'slow.json', inputs: { n: 3 }, x: 1 }),
      { target: 'file:///a.prose', options: { backend: 'scripted', script: 'slow.json', inputs: { n: '3' } } },
    );
    assert.deepEqual(parseRunArgument({ backend: 7 }), { target: undefined, options: {} });
  });

  it('ignores unknown event types', () => {
    const tracker = new RunTracker();
    const result = tracker.apply(event('r5', 'session.delta', 1));
    assert.deepEqual(result.lines, []);
  });

  it('renders empty and long outputs', () => {
    assert.deepEqual(formatOutputs(undefined), ['  Outputs: (none)']);
    const lines = formatOutputs({ poem: 'line one\nline two' });
    assert.deepEqual(lines, ['  Outputs:', '    poem:', '      line one', '      line two']);
  });

  it('shows tool calls under their session, matched by session id', () => {
    const tracker = new RunTracker();
    const lines: string[] = [];
    const feed = (params: RunEventParams) => lines.push(...tracker.apply(params).lines);
    feed(event('t1', 'run.start', 0));
    // Two parallel sessions with the same path: only the id tells their tool calls apart.
    feed(event('t1', 'session.start', 0.1, { prompt: 'Fix the test', binding: 'fix', path: ['p'], session: 's1', agent: 'fixer' }));
    feed(event('t1', 'session.start', 0.1, { prompt: 'Write notes', binding: 'notes', path: ['p'], session: 's2' }));
    feed(event('t1', 'tool.start', 0.2, { session: 's2', tool: 'write', summary: 'notes/out.md', agent: null }));
    feed(event('t1', 'tool.start', 0.3, { session: 's1', tool: 'bash', summary: 'pytest -q', agent: 'fixer' }));
    feed(
      event('t1', 'tool.end', 0.9, {
        session: 's1',
        tool: 'bash',
        summary: 'pytest -q',
        status: 'ok',
        duration: 0.5,
        agent: 'fixer',
      }),
    );
    feed(
      event('t1', 'tool.end', 1.0, {
        session: 's2',
        tool: 'write',
        summary: 'notes/out.md',
        status: 'denied',
        duration: 0,
        rule: 'permissions.write ["out/**"]',
        error: 'notes/out.md is outside the allowed write patterns',
      }),
    );
    feed(event('t1', 'tool.start', 1.1, { session: 's1', tool: 'read', summary: 'src/app.py' }));
    feed(event('t1', 'tool.end', 1.2, { session: 's1', tool: 'read', summary: 'src/app.py', status: 'error', duration: 0.01, error: 'no such file' }));
    feed(event('t1', 'session.end', 1.5, { prompt: 'Fix the test', binding: 'fix', path: ['p'], session: 's1', status: 'ok' }));
    feed(event('t1', 'session.end', 1.6, { prompt: 'Write notes', binding: 'notes', path: ['p'], session: 's2', status: 'ok' }));

    const run = tracker.get('t1')!;
    const [fix, notes] = run.sessions;
    assert.deepEqual(
      fix.tools.map((c) => [c.tool, c.summary, c.status, c.duration]),
      [
        ['bash', 'pytest -q', 'ok', 0.5],
        ['read', 'src/app.py', 'error', 0.01],
      ],
    );
    assert.deepEqual(
      notes.tools.map((c) => [c.tool, c.status, c.rule]),
      [['write', 'denied', 'permissions.write ["out/**"]']],
    );
    const text = lines.join('\n');
    assert.match(text, /\+0\.30s\s+⚙ bash: pytest -q  ‹ \[p\] fix = "Fix the test"/);
    // The tool's own duration, not the time between its events.
    assert.match(text, /\+0\.90s\s+✔ bash: pytest -q — ok \(0\.50s\)/);
    assert.match(
      text,
      /\+1\.00s\s+⊘ write: notes\/out\.md — denied by permissions\.write \["out\/\*\*"\]: notes\/out\.md is outside/,
    );
    assert.match(text, /✖ read: src\/app\.py — error \(0\.01s\): no such file/);
  });

  it('attaches tool events without an id to the running session on their path', () => {
    const tracker = new RunTracker();
    tracker.apply(event('t2', 'run.start', 0));
    tracker.apply(event('t2', 'session.start', 0, { prompt: 'Old server', path: ['x'] }));
    tracker.apply(event('t2', 'tool.start', 1, { tool: 'grep', summary: 'TODO', path: ['x'] }));
    const end = tracker.apply(event('t2', 'tool.end', 3, { tool: 'grep', summary: 'TODO', path: ['x'], status: 'ok' }));
    assert.match(end.lines[0], /✔ grep: TODO — ok \(2\.00s\)$/);
    const run = tracker.get('t2')!;
    assert.equal(run.sessions.length, 1);
    assert.equal(run.sessions[0].tools.length, 1);
    // A tool event of a session never seen makes a placeholder session instead of being dropped.
    tracker.apply(event('t2', 'tool.start', 4, { session: 's9', tool: 'glob', summary: '**/*.md' }));
    assert.equal(run.sessions.length, 2);
    assert.equal(run.sessions[1].id, 's9');
    assert.equal(sessionLabel(run.sessions[1]), 'session');
  });

  it('marks running tool calls cancelled when their session or the run ends', () => {
    const tracker = new RunTracker();
    tracker.apply(event('t3', 'run.start', 0));
    tracker.apply(event('t3', 'session.start', 0, { prompt: 'Slow', session: 's1' }));
    tracker.apply(event('t3', 'tool.start', 0.5, { session: 's1', tool: 'bash', summary: 'sleep 60' }));
    tracker.apply(event('t3', 'session.start', 0.6, { prompt: 'Other', session: 's2' }));
    tracker.apply(event('t3', 'tool.start', 0.7, { session: 's2', tool: 'bash', summary: 'sleep 61' }));
    tracker.apply(event('t3', 'session.end', 1, { prompt: 'Slow', session: 's1', status: 'cancelled' }));
    const run = tracker.get('t3')!;
    assert.equal(run.sessions[0].tools[0].status, 'cancelled');
    assert.equal(run.sessions[1].tools[0].status, 'running');
    tracker.apply(event('t3', 'run.end', 2, { status: 'cancelled' }));
    assert.equal(run.sessions[1].tools[0].status, 'cancelled');
  });

  it('names tool calls and their outcomes', () => {
    assert.equal(toolLabel({ tool: 'bash', summary: 'pytest -q' }), 'bash: pytest -q');
    assert.equal(toolLabel({ tool: 'web_search', summary: '' }), 'web_search');
    const base = { tool: 'bash', summary: 'x', start: 1 };
    assert.equal(toolOutcome({ ...base, status: 'running' }), 'running');
    assert.equal(toolOutcome({ ...base, status: 'ok', end: 3 }), 'ok (2.00s)');
    assert.equal(toolOutcome({ ...base, status: 'denied', rule: 'bash: deny' }), 'denied by bash: deny');
    assert.equal(toolOutcome({ ...base, status: 'denied' }), 'denied');
    assert.equal(toolOutcome({ ...base, status: 'cancelled', duration: 0.25 }), 'cancelled (0.25s)');
  });
});

describe('decisions and accounting', () => {
  it('shows decisions with their answer and reason, and the accounting per model', () => {
    const tracker = new RunTracker();
    const lines: string[] = [];
    const feed = (params: RunEventParams) => {
      const result = tracker.apply(params);
      lines.push(...result.lines);
      return result;
    };
    feed(event('r9', 'run.start', 0, { prompt: 'loop.prose', run_dir: '/tmp/.prose/runs/r9' }));
    feed(event('r9', 'condition', 0.4, { prompt: 'the tests pass', answer: 'no', reason: 'two tests still fail' }));
    feed(event('r9', 'choice', 0.6, { prompt: 'the severity', answer: 'Minor' }));
    feed(
      event('r9', 'run.end', 1, {
        status: 'ok',
        usage: {
          input_tokens: 1840, output_tokens: 512, cache_read_tokens: 6100, cache_write_tokens: 2050, sessions: 4,
          calls: { session: 4, tool_turn: 3, condition: 2, choice: 1, total: 10 },
          by_model: { 'claude-sonnet-5-5': { input_tokens: 1840, output_tokens: 512, cache_read_tokens: 6100,
            cache_write_tokens: 2050, calls: { session: 4, tool_turn: 3, condition: 2, choice: 1 }, cost_usd: 0.0255 } },
          cost_usd: 0.0255,
          cache_savings_usd: 0.0088,
        },
      }),
    );
    const text = lines.join('\n');
    assert.match(text, /◆ \*\*the tests pass\*\* → no · two tests still fail/);
    assert.match(text, /◆ choice \*\*the severity\*\* → Minor$/m);
    assert.match(text, /Usage: 10 model calls \(4 sessions, 3 tool turns, 2 conditions, 1 choice\) · in 1,840 · out 512 · cache read 6,100 · cache write 2,050 · ≈ \$0\.0255/);
    assert.match(text, /prompt cache saved \$0\.0088/);
    assert.match(text, /claude-sonnet-5-5: 10 calls · in 1,840/);
  });
});

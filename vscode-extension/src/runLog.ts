/**
 * Run-event bookkeeping and formatting for the "OpenProse Run" output
 * channel and the runs tree. Free of `vscode` imports so it is unit-tested
 * directly.
 *
 * The server sends `openprose/runEvent` notifications `{ uri, runId, event }`.
 * The event's shape is defined once, in runtime/openprose/events.py, and
 * published as docs/run-events.schema.json; the kinds and statuses below are
 * checked against that schema by test/runEvents.test.ts, which also replays
 * the recorded stream tests/fixtures/run_events.jsonl through this module and
 * the runs tree. `t` is seconds since the run started.
 */

/** Every kind of run event (the schema's `EventType`). */
export const RUN_EVENT_TYPES = [
  'run.start',
  'run.end',
  'session.start',
  'session.end',
  'tool.start',
  'tool.end',
  'branch.start',
  'branch.end',
  'condition',
  'choice',
  'input',
  'warning',
] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

/** How a run, session or branch ended (the schema's `RunStatus`). */
export const RUN_END_STATUSES = ['ok', 'failed', 'cancelled'] as const;
/** How a tool call ended (the schema's `ToolStatus`). */
export const TOOL_END_STATUSES = ['ok', 'error', 'denied', 'cancelled'] as const;

export type RunStatus = 'running' | (typeof RUN_END_STATUSES)[number];

export interface RunEvent {
  /** A `RunEventType`; a newer server may send others, which are ignored. */
  type: RunEventType | (string & {});
  t?: number | null;
  prompt?: string | null;
  binding?: string | null;
  path?: string[] | null;
  status?: string | null;
  error?: string | null;
  outputs?: Record<string, unknown> | null;
  run_dir?: string | null;
  /** run.end: the run's accounting; session.end, condition, choice: the call's tokens. */
  usage?: Record<string, unknown> | null;
  /** The statement the event is about (1-based). */
  line?: number | null;
  column?: number | null;
  agent?: string | null;
  model?: string | null;
  /** warning: EMPTY, TRUNCATED, PRICES, … */
  code?: string | null;
  /** condition / choice: the decision ("yes"/"no" or the option's label) and the judge's one-line reason. */
  answer?: string | null;
  reason?: string | null;
  /** The session's id within the run; tool events carry the id of their session. */
  session?: string | null;
  tool?: string | null;
  summary?: string | null;
  /** tool.end: seconds the tool itself took. */
  duration?: number | null;
  /** tool.end with status `denied`: the permission rule that refused the call. */
  rule?: string | null;
  /** Running totals of the whole run after this event (session.end, condition, choice). */
  totals?: Record<string, unknown> | null;
  /** session.end: the output was cut off at max_tokens. */
  truncated?: boolean | null;
}

export interface RunEventParams {
  uri: string;
  runId: string;
  event: RunEvent;
}

export type ToolStatus = 'running' | (typeof TOOL_END_STATUSES)[number];

export interface ToolRecord {
  tool: string;
  summary: string;
  start: number;
  end?: number;
  status: ToolStatus;
  /** Seconds the tool itself took (from tool.end), else undefined. */
  duration?: number;
  error?: string;
  rule?: string;
}

export interface SessionRecord {
  /** The server's session id (`session` of session.start), when it sent one. */
  id?: string;
  prompt: string | null;
  binding: string | null;
  path: string[];
  start: number;
  end?: number;
  status: RunStatus;
  error?: string;
  /** Tool calls of this session, in the order they started. */
  tools: ToolRecord[];
}

export interface BranchRecord {
  path: string[];
  start: number;
  status: RunStatus;
}

export interface RunRecord {
  runId: string;
  uri: string;
  start: number;
  /** Wall-clock time of the start, for the header line. */
  startedAt: Date;
  end?: number;
  status: RunStatus;
  error?: string;
  outputs?: Record<string, unknown>;
  runDir?: string;
  usage?: Record<string, unknown>;
  sessions: SessionRecord[];
  branches: BranchRecord[];
}

export interface ApplyResult {
  run: RunRecord;
  /** Lines to append to the output channel. */
  lines: string[];
  /** The run started or ended with this event. */
  runStateChanged: boolean;
}

/** Options of `openprose.run` (its optional second argument). */
export interface RunOptions {
  backend?: string;
  script?: string;
  inputs?: Record<string, string>;
}

/**
 * Splits the argument of the run commands: a URI (object or string) is the
 * target; a plain object may carry `uri` plus run options.
 */
export function parseRunArgument(arg: unknown): { target: unknown; options: RunOptions } {
  const options: RunOptions = {};
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg) || typeof (arg as { scheme?: unknown }).scheme === 'string') {
    return { target: arg, options };
  }
  const raw = arg as Record<string, unknown>;
  if (typeof raw.backend === 'string' && raw.backend !== '') {
    options.backend = raw.backend;
  }
  if (typeof raw.script === 'string' && raw.script !== '') {
    options.script = raw.script;
  }
  if (typeof raw.inputs === 'object' && raw.inputs !== null && !Array.isArray(raw.inputs)) {
    options.inputs = Object.fromEntries(Object.entries(raw.inputs).map(([key, value]) => [key, String(value)]));
  }
  return { target: raw.uri, options };
}

/** Validates the shape of notification params; returns undefined if unusable. */
export function parseRunEventParams(raw: unknown): RunEventParams | undefined {
  if (typeof raw !== 'object' || raw === null) {
    return undefined;
  }
  const params = raw as Record<string, unknown>;
  const event = params.event as Record<string, unknown> | undefined;
  if (typeof params.runId !== 'string' || typeof event !== 'object' || event === null) {
    return undefined;
  }
  if (typeof event.type !== 'string') {
    return undefined;
  }
  return {
    uri: typeof params.uri === 'string' ? params.uri : '',
    runId: params.runId,
    event: event as unknown as RunEvent,
  };
}

function normalizeStatus(status: string | null | undefined, fallback: RunStatus): RunStatus {
  const known = RUN_END_STATUSES.find((candidate) => candidate === status);
  return known ?? fallback;
}

/** `1.234` -> `1.23s`, `75.5` -> `1m15.5s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '?';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(2)}s`;
  }
  const minutes = Math.floor(seconds / 60);
  const rest = seconds - minutes * 60;
  return `${minutes}m${rest.toFixed(1).padStart(4, '0')}s`;
}

function clock(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** The file name at the end of a URI, for headers. */
export function displayName(uri: string): string {
  const withoutQuery = uri.split(/[?#]/)[0];
  const last = withoutQuery.split('/').filter(Boolean).pop() ?? uri;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** First line of a prompt, shortened. */
export function excerpt(text: string, max = 60): string {
  const firstLine = text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
  const trimmed = firstLine.trim();
  const multi = text.trim().includes('\n');
  if (trimmed.length > max) {
    return `${trimmed.slice(0, max - 1)}…`;
  }
  return multi ? `${trimmed} …` : trimmed;
}

/** `bash: pytest -q` — how a tool call is named in the log and tree. */
export function toolLabel(tool: Pick<ToolRecord, 'tool' | 'summary'>): string {
  return tool.summary ? `${tool.tool}: ${excerpt(tool.summary, 80)}` : tool.tool;
}

/** `0.52s`, `denied by bash: deny` — the outcome of a finished tool call. */
export function toolOutcome(tool: ToolRecord): string {
  const took = toolSeconds(tool);
  const time = took !== undefined ? ` (${formatDuration(took)})` : '';
  switch (tool.status) {
    case 'running':
      return 'running';
    case 'ok':
      return `ok${time}`;
    case 'denied':
      return tool.rule ? `denied by ${tool.rule}` : 'denied';
    case 'error':
      return `error${time}${tool.error ? `: ${excerpt(tool.error, 200)}` : ''}`;
    case 'cancelled':
      return `cancelled${time}`;
  }
}

/** The tool's own time when the server sent it, else the time between its events. */
export function toolSeconds(tool: ToolRecord): number | undefined {
  if (tool.duration !== undefined) {
    return tool.duration;
  }
  return tool.end !== undefined && tool.end > 0 && tool.end >= tool.start ? tool.end - tool.start : undefined;
}

/** `[parallel › a]  a = "prompt"` — how a session is named in the log and tree. */
export function sessionLabel(session: Pick<SessionRecord, 'prompt' | 'binding' | 'path'>): string {
  const parts: string[] = [];
  if (session.path.length > 0) {
    parts.push(`[${session.path.join(' › ')}]`);
  }
  if (session.binding) {
    parts.push(session.prompt ? `${session.binding} = "${excerpt(session.prompt)}"` : session.binding);
  } else if (session.prompt) {
    parts.push(`"${excerpt(session.prompt)}"`);
  } else {
    parts.push('session');
  }
  return parts.join(' ');
}

function indent(text: string, prefix: string): string[] {
  return text.split(/\r?\n/).map((line) => (line === '' ? '' : prefix + line));
}

const MAX_VALUE_CHARS = 20000;

function renderValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else {
    try {
      text = JSON.stringify(value, null, 2) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  if (text.length > MAX_VALUE_CHARS) {
    text = `${text.slice(0, MAX_VALUE_CHARS)}\n… (${text.length - MAX_VALUE_CHARS} more characters)`;
  }
  return text;
}

/** Lines describing the outputs of a finished run. */
export function formatOutputs(outputs: Record<string, unknown> | undefined): string[] {
  if (!outputs || Object.keys(outputs).length === 0) {
    return ['  Outputs: (none)'];
  }
  const lines = ['  Outputs:'];
  for (const [name, value] of Object.entries(outputs)) {
    const text = renderValue(value);
    if (!text.includes('\n') && text.length <= 100) {
      lines.push(`    ${name}: ${text}`);
    } else {
      lines.push(`    ${name}:`);
      lines.push(...indent(text, '      '));
    }
  }
  return lines;
}

const CALL_KINDS: [string, string][] = [
  ['session', 'session'],
  ['tool_turn', 'tool turn'],
  ['condition', 'condition'],
  ['choice', 'choice'],
];

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function tokens(usage: Record<string, unknown>): string {
  const n = (key: string) => count(usage[key]).toLocaleString('en-US');
  return `in ${n('input_tokens')} · out ${n('output_tokens')} · cache read ${n('cache_read_tokens')} · cache write ${n('cache_write_tokens')}`;
}

function money(value: unknown): string {
  return typeof value === 'number' ? `≈ $${value.toFixed(4)}` : 'cost unknown';
}

/** The run's accounting (docs/accounting.md): calls per kind, tokens and cost, then one line per model. */
function formatAccounting(usage: Record<string, unknown>, calls: Record<string, unknown>): string {
  const kinds = CALL_KINDS.filter(([key]) => count(calls[key]) > 0).map(
    ([key, word]) => `${count(calls[key])} ${word}${count(calls[key]) === 1 ? '' : 's'}`,
  );
  const lines = [
    `  Usage: ${count(calls.total)} model calls${kinds.length ? ` (${kinds.join(', ')})` : ''} · ${tokens(usage)} · ${money(usage.cost_usd)}`,
  ];
  const saved = usage.cache_savings_usd;
  if (typeof saved === 'number' && saved > 0) {
    lines.push(`    prompt cache saved $${saved.toFixed(4)}`);
  }
  const byModel = usage.by_model;
  if (byModel && typeof byModel === 'object') {
    for (const [model, entry] of Object.entries(byModel as Record<string, Record<string, unknown>>)) {
      const modelCalls = entry.calls && typeof entry.calls === 'object' ? (entry.calls as Record<string, unknown>) : {};
      const total = Object.values(modelCalls).reduce<number>((sum, value) => sum + count(value), 0);
      lines.push(`    ${model}: ${total} calls · ${tokens(entry)} · ${money(entry.cost_usd)}`);
    }
  }
  return lines.join('\n');
}

export function formatUsage(usage: Record<string, unknown> | undefined): string | undefined {
  if (!usage || Object.keys(usage).length === 0) {
    return undefined;
  }
  if (usage.calls && typeof usage.calls === 'object') {
    return formatAccounting(usage, usage.calls as Record<string, unknown>);
  }
  const parts = Object.entries(usage).map(([key, value]) =>
    `${key}=${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`,
  );
  return `  Usage: ${parts.join(', ')}`;
}

const STATUS_MARK: Record<RunStatus, string> = {
  running: '▶',
  ok: '✔',
  failed: '✖',
  cancelled: '■',
};

const STATUS_WORD: Record<RunStatus, string> = {
  running: 'started',
  ok: 'finished',
  failed: 'failed',
  cancelled: 'cancelled',
};

const TOOL_MARK: Record<ToolStatus, string> = {
  running: '⚙',
  ok: '✔',
  error: '✖',
  denied: '⊘',
  cancelled: '■',
};

function toolStatus(status: string | null | undefined): ToolStatus {
  return TOOL_END_STATUSES.find((candidate) => candidate === status) ?? 'ok';
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function sameKey(a: SessionRecord, event: RunEvent): boolean {
  return (
    JSON.stringify(a.path) === JSON.stringify(event.path ?? []) &&
    (a.binding ?? null) === (event.binding ?? null) &&
    (a.prompt ?? null) === (event.prompt ?? null)
  );
}

/** ` (1.23s)` when both times are known and ordered, else nothing. */
function span(from: number, to: number): string {
  return to > 0 && to >= from ? ` (${formatDuration(to - from)})` : '';
}

function samePath(a: string[], b: string[] | null | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b ?? []);
}

/** Keeps the state of recent runs and turns events into log lines. */
export class RunTracker {
  private readonly runs = new Map<string, RunRecord>();

  constructor(private readonly maxRuns = 20, private readonly now: () => Date = () => new Date()) {}

  /** Runs, oldest first. */
  all(): RunRecord[] {
    return [...this.runs.values()];
  }

  get(runId: string): RunRecord | undefined {
    return this.runs.get(runId);
  }

  active(): RunRecord[] {
    return this.all().filter((run) => run.status === 'running');
  }

  clearFinished(): void {
    for (const [id, run] of this.runs) {
      if (run.status !== 'running') {
        this.runs.delete(id);
      }
    }
  }

  /** Marks every running run (and its sessions) as cancelled, e.g. when the server went away. */
  abandonAll(reason: string): string[] {
    const lines: string[] = [];
    for (const run of this.active()) {
      run.status = 'cancelled';
      run.error = reason;
      for (const session of run.sessions) {
        if (session.status === 'running') {
          session.status = 'cancelled';
        }
        for (const tool of session.tools) {
          if (tool.status === 'running') {
            tool.status = 'cancelled';
          }
        }
      }
      lines.push(`■ Run ${run.runId} (${displayName(run.uri)}) ended: ${reason}`);
    }
    return lines;
  }

  /** The session a tool event belongs to: by id, else the running session on the same path. */
  private sessionOf(run: RunRecord, event: RunEvent, t: number): SessionRecord {
    const id = nonEmpty(event.session);
    const byId = id !== undefined ? run.sessions.find((s) => s.id === id) : undefined;
    if (byId) {
      return byId;
    }
    if (id === undefined) {
      const running = run.sessions.filter((s) => s.status === 'running' && samePath(s.path, event.path));
      if (running.length > 0) {
        return running[running.length - 1];
      }
    }
    return this.orphanSession(run, event, t);
  }

  /** A session whose start was never seen (a newer server, a lost notification). */
  private orphanSession(run: RunRecord, event: RunEvent, t: number): SessionRecord {
    const session: SessionRecord = {
      id: nonEmpty(event.session),
      prompt: event.type.startsWith('session.') ? event.prompt ?? null : null,
      binding: event.type.startsWith('session.') ? event.binding ?? null : null,
      path: Array.isArray(event.path) ? event.path.map(String) : [],
      start: t,
      status: 'running',
      tools: [],
    };
    run.sessions.push(session);
    return session;
  }

  private ensureRun(params: RunEventParams, t: number): RunRecord {
    let run = this.runs.get(params.runId);
    if (!run) {
      run = {
        runId: params.runId,
        uri: params.uri,
        start: t,
        startedAt: t > 1e9 ? new Date(t * 1000) : this.now(),
        status: 'running',
        sessions: [],
        branches: [],
      };
      this.runs.set(params.runId, run);
      while (this.runs.size > this.maxRuns) {
        const oldest = this.all().find((candidate) => candidate.status !== 'running');
        if (!oldest) {
          break;
        }
        this.runs.delete(oldest.runId);
      }
    }
    return run;
  }

  apply(params: RunEventParams): ApplyResult {
    const event = params.event;
    if (event.type === 'run.start' && this.runs.get(params.runId)?.status !== 'running') {
      // A restarted server numbers its runs from 1 again: a new run.start is a new run.
      this.runs.delete(params.runId);
    }
    const known = this.runs.get(params.runId);
    const t = typeof event.t === 'number' && Number.isFinite(event.t) ? event.t : known ? known.start : 0;
    const run = this.ensureRun(params, t);
    const stamp = `  +${formatDuration(Math.max(0, t - run.start)).padEnd(7)}`;
    const lines: string[] = [];
    let runStateChanged = false;

    switch (event.type) {
      case 'run.start': {
        runStateChanged = true;
        run.start = t;
        run.status = 'running';
        if (event.run_dir) {
          run.runDir = event.run_dir;
        }
        lines.push(`▶ Run ${run.runId} started: ${displayName(run.uri)} [${clock(run.startedAt)}]`);
        break;
      }
      case 'branch.start': {
        const path = Array.isArray(event.path) ? event.path.map(String) : [];
        run.branches.push({ path, start: t, status: 'running' });
        lines.push(`${stamp} ├ branch started   [${path.join(' › ') || 'branch'}]`);
        break;
      }
      case 'branch.end': {
        const status = normalizeStatus(event.status, 'ok');
        const branch = run.branches.find((b) => b.status === 'running' && samePath(b.path, event.path));
        if (branch) {
          branch.status = status;
        }
        const label = (Array.isArray(event.path) ? event.path.map(String) : []).join(' › ') || 'branch';
        let line = `${stamp} └ branch ${STATUS_WORD[status].padEnd(9)} [${label}]${branch ? span(branch.start, t) : ''}`;
        if (status === 'failed' && event.error) {
          line += `: ${excerpt(event.error, 200)}`;
        }
        lines.push(line);
        break;
      }
      case 'warning': {
        if (event.error) {
          const where = typeof event.line === 'number' ? ` (line ${event.line})` : '';
          lines.push(`${stamp} ⚠ warning${where}: ${event.error}`);
        }
        break;
      }
      case 'condition':
      case 'choice': {
        const what = event.type === 'choice' ? 'choice ' : '';
        const reason = event.reason ? ` · ${excerpt(event.reason, 120)}` : '';
        lines.push(`${stamp} ◆ ${what}**${excerpt(event.prompt ?? '')}** → ${event.answer ?? '?'}${reason}`);
        break;
      }
      case 'input': {
        lines.push(`${stamp} ? input ${event.binding ?? ''}${event.prompt ? `: ${excerpt(event.prompt)}` : ''}`);
        break;
      }
      case 'session.start': {
        const session: SessionRecord = {
          id: nonEmpty(event.session),
          prompt: event.prompt ?? null,
          binding: event.binding ?? null,
          path: Array.isArray(event.path) ? event.path.map(String) : [],
          start: t,
          status: 'running',
          tools: [],
        };
        run.sessions.push(session);
        const who = [event.agent, event.model].filter((part): part is string => typeof part === 'string' && part !== '');
        const suffix = who.length > 0 ? ` (${who.join(' · ')})` : '';
        lines.push(`${stamp} ${STATUS_MARK.running} ${STATUS_WORD.running.padEnd(9)} ${sessionLabel(session)}${suffix}`);
        break;
      }
      case 'session.end': {
        const status = normalizeStatus(event.status, 'ok');
        const id = nonEmpty(event.session);
        let session =
          (id !== undefined ? run.sessions.find((s) => s.id === id) : undefined) ??
          run.sessions.find((s) => s.status === 'running' && s.id === undefined && sameKey(s, event)) ??
          run.sessions.find((s) => s.status === 'running' && s.id === undefined && samePath(s.path, event.path));
        if (!session) {
          session = this.orphanSession(run, event, t);
        }
        session.end = t;
        session.status = status;
        if (event.error) {
          session.error = event.error;
        }
        for (const tool of session.tools) {
          if (tool.status === 'running') {
            tool.status = 'cancelled';
            tool.end = t;
          }
        }
        let line = `${stamp} ${STATUS_MARK[status]} ${STATUS_WORD[status].padEnd(9)} ${sessionLabel(session)}${span(session.start, t)}`;
        if (status === 'failed' && event.error) {
          line += `: ${excerpt(event.error, 200)}`;
        }
        lines.push(line);
        break;
      }
      case 'tool.start': {
        const session = this.sessionOf(run, event, t);
        const tool: ToolRecord = {
          tool: nonEmpty(event.tool) ?? 'tool',
          summary: nonEmpty(event.summary) ?? '',
          start: t,
          status: 'running',
        };
        session.tools.push(tool);
        lines.push(`${stamp}   ${TOOL_MARK.running} ${toolLabel(tool)}  ‹ ${sessionLabel(session)}`);
        break;
      }
      case 'tool.end': {
        const session = this.sessionOf(run, event, t);
        const name = nonEmpty(event.tool) ?? 'tool';
        const summary = nonEmpty(event.summary) ?? '';
        let tool =
          session.tools.find((c) => c.status === 'running' && c.tool === name && c.summary === summary) ??
          session.tools.find((c) => c.status === 'running' && c.tool === name);
        if (!tool) {
          tool = { tool: name, summary, start: t, status: 'running' };
          session.tools.push(tool);
        }
        tool.end = t;
        tool.status = toolStatus(event.status);
        if (typeof event.duration === 'number' && Number.isFinite(event.duration) && event.duration >= 0) {
          tool.duration = event.duration;
        }
        if (event.error) {
          tool.error = event.error;
        }
        if (event.rule) {
          tool.rule = event.rule;
        }
        let line = `${stamp}   ${TOOL_MARK[tool.status]} ${toolLabel(tool)} — ${toolOutcome(tool)}`;
        if (tool.status === 'denied' && tool.error) {
          line += `: ${excerpt(tool.error, 200)}`;
        }
        lines.push(line);
        break;
      }
      case 'run.end': {
        runStateChanged = true;
        const status = normalizeStatus(event.status, 'ok');
        run.end = t;
        run.status = status;
        for (const session of run.sessions) {
          if (session.status === 'running') {
            session.status = 'cancelled';
            session.end = Math.max(t, session.start);
          }
          for (const tool of session.tools) {
            if (tool.status === 'running') {
              tool.status = 'cancelled';
              tool.end = Math.max(t, tool.start);
            }
          }
        }
        for (const branch of run.branches) {
          if (branch.status === 'running') {
            branch.status = 'cancelled';
          }
        }
        if (event.error) {
          run.error = event.error;
        }
        if (event.outputs && typeof event.outputs === 'object') {
          run.outputs = event.outputs;
        }
        if (event.run_dir) {
          run.runDir = event.run_dir;
        }
        if (event.usage && typeof event.usage === 'object') {
          run.usage = event.usage;
        }
        const word = status === 'ok' ? 'finished' : status;
        const took = t > 0 && t >= run.start ? ` in ${formatDuration(t - run.start)}` : '';
        lines.push(`${STATUS_MARK[status]} Run ${run.runId} ${word}${took}: ${displayName(run.uri)}`);
        if (run.error) {
          lines.push(...indent(`Error: ${run.error}`, '  '));
        }
        if (status === 'ok' || run.outputs) {
          lines.push(...formatOutputs(run.outputs));
        }
        const usage = formatUsage(run.usage);
        if (usage) {
          lines.push(usage);
        }
        if (run.runDir) {
          lines.push(`  Run directory: ${run.runDir}`);
        }
        lines.push('');
        break;
      }
      default:
        // Unknown event types are ignored so newer servers don't break older clients.
        break;
    }
    return { run, lines, runStateChanged };
  }
}

/**
 * What the "OpenProse Runs" tree shows, without `vscode`: the nodes under each
 * node and each node's label, description, tooltip and icon. runTree.ts only
 * turns these rows into TreeItems, so the tree's content is unit-tested in node
 * against the recorded event stream (tests/fixtures/run_events.jsonl).
 */
import {
  RunRecord,
  RunStatus,
  RunTracker,
  SessionRecord,
  ToolRecord,
  ToolStatus,
  displayName,
  formatDuration,
  sessionLabel,
  toolLabel,
  toolOutcome,
  toolSeconds,
} from './runLog';

export type RunTreeNode =
  | { kind: 'run'; run: RunRecord }
  | { kind: 'session'; run: RunRecord; session: SessionRecord; index: number }
  | { kind: 'tool'; run: RunRecord; session: SessionRecord; tool: ToolRecord; id: string };

/** A codicon id and an optional theme colour id. */
export interface RowIcon {
  id: string;
  color?: string;
}

export interface RunTreeRow {
  id: string;
  label: string;
  description: string;
  tooltip: string;
  icon: RowIcon;
  collapsible: 'none' | 'expanded' | 'collapsed';
  contextValue?: string;
  command?: string;
}

export function statusIcon(status: RunStatus): RowIcon {
  switch (status) {
    case 'running':
      return { id: 'sync~spin' };
    case 'ok':
      return { id: 'pass', color: 'testing.iconPassed' };
    case 'failed':
      return { id: 'error', color: 'testing.iconFailed' };
    case 'cancelled':
      return { id: 'circle-slash' };
  }
}

export function toolIcon(status: ToolStatus): RowIcon {
  switch (status) {
    case 'running':
      return { id: 'loading~spin' };
    case 'ok':
      return { id: 'check' };
    case 'error':
      return { id: 'error', color: 'testing.iconFailed' };
    case 'denied':
      return { id: 'shield', color: 'list.warningForeground' };
    case 'cancelled':
      return { id: 'circle-slash' };
  }
}

/** The children of `node`; the runs (newest first) without one. */
export function childrenOf(tracker: RunTracker, node?: RunTreeNode): RunTreeNode[] {
  if (!node) {
    return tracker
      .all()
      .reverse()
      .map((run) => ({ kind: 'run' as const, run }));
  }
  if (node.kind === 'run') {
    return node.run.sessions.map((session, index) => ({ kind: 'session' as const, run: node.run, session, index }));
  }
  if (node.kind === 'session') {
    return node.session.tools.map((tool, toolIndex) => ({
      kind: 'tool' as const,
      run: node.run,
      session: node.session,
      tool,
      id: `tool:${node.run.runId}:${node.index}:${toolIndex}`,
    }));
  }
  return [];
}

export function rowOf(node: RunTreeNode): RunTreeRow {
  if (node.kind === 'run') {
    const { run } = node;
    const duration =
      run.end !== undefined && run.end > 0 && run.end >= run.start ? ` · ${formatDuration(run.end - run.start)}` : '';
    return {
      id: `run:${run.runId}`,
      label: displayName(run.uri),
      description: `${run.status}${duration}`,
      tooltip: [`Run ${run.runId}`, run.uri, run.error ? `Error: ${run.error}` : '', run.runDir ? `Run directory: ${run.runDir}` : '']
        .filter(Boolean)
        .join('\n'),
      icon: statusIcon(run.status),
      collapsible: run.sessions.length > 0 ? 'expanded' : 'none',
      contextValue: run.status === 'running' ? 'openprose.run.running' : 'openprose.run.finished',
      command: 'openprose.showRunOutput',
    };
  }
  if (node.kind === 'tool') {
    const { tool } = node;
    const took = toolSeconds(tool);
    return {
      id: node.id,
      label: toolLabel(tool),
      description:
        tool.status === 'denied' ? toolOutcome(tool) : `${tool.status}${took !== undefined ? ` · ${formatDuration(took)}` : ''}`,
      tooltip: [
        `${tool.tool}: ${tool.summary}`,
        tool.rule ? `Denied by ${tool.rule}` : '',
        tool.error ? `${tool.status === 'denied' ? 'Reason' : 'Error'}: ${tool.error}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
      icon: toolIcon(tool.status),
      collapsible: 'none',
    };
  }
  const { session } = node;
  const duration =
    session.end !== undefined && session.end >= session.start ? ` · ${formatDuration(session.end - session.start)}` : '';
  return {
    id: `session:${node.run.runId}:${node.index}`,
    label: sessionLabel(session),
    description: `${session.status}${duration}`,
    tooltip: [session.prompt ?? '', session.error ? `Error: ${session.error}` : ''].filter(Boolean).join('\n\n'),
    icon: statusIcon(session.status),
    collapsible: session.tools.length === 0 ? 'none' : session.status === 'running' ? 'expanded' : 'collapsed',
  };
}

/** "OpenProse Runs" tree view: recent runs and their sessions. */
import * as vscode from 'vscode';
import { RunRecord, RunStatus, RunTracker, SessionRecord, displayName, formatDuration, sessionLabel } from './runLog';

type Node = { kind: 'run'; run: RunRecord } | { kind: 'session'; run: RunRecord; session: SessionRecord };

function statusIcon(status: RunStatus): vscode.ThemeIcon {
  switch (status) {
    case 'running':
      return new vscode.ThemeIcon('sync~spin');
    case 'ok':
      return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
    case 'failed':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    case 'cancelled':
      return new vscode.ThemeIcon('circle-slash');
  }
}

export class RunTreeProvider implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly tracker: RunTracker) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: Node): Node[] {
    if (!node) {
      return this.tracker
        .all()
        .reverse()
        .map((run) => ({ kind: 'run' as const, run }));
    }
    if (node.kind === 'run') {
      return node.run.sessions.map((session) => ({ kind: 'session' as const, run: node.run, session }));
    }
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'run') {
      const { run } = node;
      const item = new vscode.TreeItem(
        displayName(run.uri),
        run.sessions.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
      );
      const duration =
        run.end !== undefined && run.end > 0 && run.end >= run.start ? ` · ${formatDuration(run.end - run.start)}` : '';
      item.description = `${run.status}${duration}`;
      item.tooltip = [
        `Run ${run.runId}`,
        run.uri,
        run.error ? `Error: ${run.error}` : '',
        run.runDir ? `Run directory: ${run.runDir}` : '',
      ]
        .filter(Boolean)
        .join('\n');
      item.iconPath = statusIcon(run.status);
      item.contextValue = run.status === 'running' ? 'openprose.run.running' : 'openprose.run.finished';
      item.id = `run:${run.runId}`;
      item.command = { command: 'openprose.showRunOutput', title: 'Show Run Output' };
      return item;
    }
    const { session } = node;
    const item = new vscode.TreeItem(sessionLabel(session), vscode.TreeItemCollapsibleState.None);
    const duration =
      session.end !== undefined && session.end >= session.start
        ? ` · ${formatDuration(session.end - session.start)}`
        : '';
    item.description = `${session.status}${duration}`;
    item.tooltip = [session.prompt ?? '', session.error ? `Error: ${session.error}` : ''].filter(Boolean).join('\n\n');
    item.iconPath = statusIcon(session.status);
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

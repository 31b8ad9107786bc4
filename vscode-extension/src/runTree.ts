/** "OpenProse Runs" tree view: recent runs, their sessions and each session's tool calls. */
import * as vscode from 'vscode';
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

type Node =
  | { kind: 'run'; run: RunRecord }
  | { kind: 'session'; run: RunRecord; session: SessionRecord; index: number }
  | { kind: 'tool'; run: RunRecord; session: SessionRecord; tool: ToolRecord; id: string };

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

function toolIcon(status: ToolStatus): vscode.ThemeIcon {
  switch (status) {
    case 'running':
      return new vscode.ThemeIcon('loading~spin');
    case 'ok':
      return new vscode.ThemeIcon('check');
    case 'error':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    case 'denied':
      return new vscode.ThemeIcon('shield', new vscode.ThemeColor('list.warningForeground'));
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
    if (node.kind === 'tool') {
      const { tool } = node;
      const item = new vscode.TreeItem(toolLabel(tool), vscode.TreeItemCollapsibleState.None);
      const took = toolSeconds(tool);
      item.description =
        tool.status === 'denied' ? toolOutcome(tool) : `${tool.status}${took !== undefined ? ` · ${formatDuration(took)}` : ''}`;
      item.tooltip = [
        `${tool.tool}: ${tool.summary}`,
        tool.rule ? `Denied by ${tool.rule}` : '',
        tool.error ? `${tool.status === 'denied' ? 'Reason' : 'Error'}: ${tool.error}` : '',
      ]
        .filter(Boolean)
        .join('\n');
      item.iconPath = toolIcon(tool.status);
      item.id = node.id;
      return item;
    }
    const { session } = node;
    const item = new vscode.TreeItem(
      sessionLabel(session),
      session.tools.length === 0
        ? vscode.TreeItemCollapsibleState.None
        : session.status === 'running'
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed,
    );
    const duration =
      session.end !== undefined && session.end >= session.start
        ? ` · ${formatDuration(session.end - session.start)}`
        : '';
    item.description = `${session.status}${duration}`;
    item.tooltip = [session.prompt ?? '', session.error ? `Error: ${session.error}` : ''].filter(Boolean).join('\n\n');
    item.iconPath = statusIcon(session.status);
    item.id = `session:${node.run.runId}:${node.index}`;
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** "OpenProse Runs" tree view: recent runs, their sessions and each session's tool calls (content: runTreeModel). */
import * as vscode from 'vscode';
import { RunTracker } from './runLog';
import { RowIcon, RunTreeNode, RunTreeRow, childrenOf, rowOf } from './runTreeModel';

const COLLAPSIBLE: Record<RunTreeRow['collapsible'], vscode.TreeItemCollapsibleState> = {
  none: vscode.TreeItemCollapsibleState.None,
  expanded: vscode.TreeItemCollapsibleState.Expanded,
  collapsed: vscode.TreeItemCollapsibleState.Collapsed,
};

function themeIcon(icon: RowIcon): vscode.ThemeIcon {
  return icon.color ? new vscode.ThemeIcon(icon.id, new vscode.ThemeColor(icon.color)) : new vscode.ThemeIcon(icon.id);
}

export class RunTreeProvider implements vscode.TreeDataProvider<RunTreeNode> {
  private readonly changed = new vscode.EventEmitter<RunTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly tracker: RunTracker) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: RunTreeNode): RunTreeNode[] {
    return childrenOf(this.tracker, node);
  }

  getTreeItem(node: RunTreeNode): vscode.TreeItem {
    const row = rowOf(node);
    const item = new vscode.TreeItem(row.label, COLLAPSIBLE[row.collapsible]);
    item.id = row.id;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = themeIcon(row.icon);
    if (row.contextValue) {
      item.contextValue = row.contextValue;
    }
    if (row.command) {
      item.command = { command: row.command, title: 'Show Run Output' };
    }
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

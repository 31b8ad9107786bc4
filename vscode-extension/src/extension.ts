/**
 * OpenProse VS Code extension: starts the OpenProse language server
 * (`prose lsp` by default) over stdio and adds the commands, output
 * channels and views around running programs.
 */
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  DynamicFeature,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  ShowMessageRequest,
  ShowMessageRequestParams,
  State,
  StaticFeature,
} from 'vscode-languageclient/node';
import { ProgressFeature } from 'vscode-languageclient/lib/common/progress';
import {
  API_KEY_ENV,
  API_KEY_SECRET,
  CONFIG_SECTION,
  ClientCommands,
  EXAMPLE_PROGRAM,
  INSTALL_COMMAND,
  LANGUAGE_ID,
  RUN_EVENT_NOTIFICATION,
  RUN_OUTPUT_CHANNEL,
  SERVER_OUTPUT_CHANNEL,
  ServerCommands,
} from './ids';
import { MessageAction, presentMessageRequest } from './messageRequest';
import { NotificationProgressFeature } from './progress';
import { RunTracker, parseRunArgument, parseRunEventParams } from './runLog';
import { RunTreeProvider } from './runTree';
import { resolveExecutable } from './serverCommand';
import {
  didChangeConfigurationParams,
  executableOptions,
  initializationOptions,
  readLaunchSettings,
  readServerSettings,
  serverEnvironment,
} from './settings';

/**
 * A LanguageClient whose work-done progress can be cancelled from a
 * notification, and which stays quiet while starting: a failed start is
 * reported once, by the extension, with its own actions (otherwise
 * vscode-languageclient adds two or three notifications of its own).
 */
class OpenProseLanguageClient extends LanguageClient {
  /** While true, errors go to the output channel only. */
  public quiet = false;

  public override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    if (feature instanceof ProgressFeature) {
      super.registerFeature(new NotificationProgressFeature(this));
      return;
    }
    super.registerFeature(feature);
  }

  public override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
    super.error(message, data, this.quiet ? false : showNotification);
  }
}

type ServerStatus = 'starting' | 'running' | 'stopped' | 'missing' | 'failed';

const DOCUMENT_SELECTOR = [
  { scheme: 'file', language: LANGUAGE_ID },
  { scheme: 'untitled', language: LANGUAGE_ID },
];

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}

class OpenProseExtension implements vscode.Disposable {
  private client: OpenProseLanguageClient | undefined;
  private lifecycle: Promise<void> = Promise.resolve();
  private readonly serverChannel: vscode.OutputChannel;
  private readonly runChannel: vscode.OutputChannel;
  private readonly tracker = new RunTracker();
  private readonly runTree: RunTreeProvider;
  private readonly statusItem: vscode.LanguageStatusItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.serverChannel = vscode.window.createOutputChannel(SERVER_OUTPUT_CHANNEL);
    this.runChannel = vscode.window.createOutputChannel(RUN_OUTPUT_CHANNEL);
    this.runTree = new RunTreeProvider(this.tracker);
    this.statusItem = vscode.languages.createLanguageStatusItem('openprose.server', { language: LANGUAGE_ID });
    this.statusItem.name = 'OpenProse Language Server';
    this.disposables.push(
      this.serverChannel,
      this.runChannel,
      this.runTree,
      this.statusItem,
      vscode.window.registerTreeDataProvider('openprose.runs', this.runTree),
    );
    this.setStatus('stopped');
  }

  activate(): void {
    const register = (id: string, handler: (...args: unknown[]) => unknown) =>
      this.disposables.push(vscode.commands.registerCommand(id, handler));
    register(ClientCommands.runProgram, (uri) => this.runProgram(uri, false));
    register(ClientCommands.runProgramSimulated, (uri) => this.runProgram(uri, true));
    register(ClientCommands.stopRun, (uri) => this.stopRun(uri));
    register(ClientCommands.restartServer, () => this.restart(true));
    register(ClientCommands.setApiKey, () => this.setApiKey());
    register(ClientCommands.clearApiKey, () => this.clearApiKey());
    register(ClientCommands.showRunOutput, () => this.runChannel.show(true));
    register(ClientCommands.showInstallHelp, () => this.showInstallHelp());
    register(ClientCommands.openExample, () => this.openExample());
    register(ClientCommands.clearRuns, () => {
      this.tracker.clearFinished();
      this.refreshRunState();
    });
    this.disposables.push(vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)));
    void this.queue(() => this.startClient());
  }

  /** Serializes start/stop so overlapping restarts cannot spawn two servers. */
  private queue(step: () => Promise<void>): Promise<void> {
    this.lifecycle = this.lifecycle.then(step, step);
    return this.lifecycle;
  }

  private status: ServerStatus = 'stopped';
  private missingCommand = '';

  private setStatus(status: ServerStatus, detail?: string): void {
    this.status = status;
    const texts: Record<ServerStatus, string> = {
      starting: '$(sync~spin) OpenProse server starting',
      running: '$(check) OpenProse server',
      stopped: '$(circle-slash) OpenProse server stopped',
      missing: '$(error) OpenProse server not found',
      failed: '$(error) OpenProse server failed',
    };
    this.statusItem.text = texts[status];
    this.statusItem.detail = detail;
    this.statusItem.busy = status === 'starting';
    this.statusItem.severity =
      status === 'missing' || status === 'failed'
        ? vscode.LanguageStatusSeverity.Error
        : vscode.LanguageStatusSeverity.Information;
    this.statusItem.command =
      status === 'missing'
        ? { command: ClientCommands.showInstallHelp, title: 'How to install' }
        : { command: ClientCommands.restartServer, title: 'Restart' };
    void vscode.commands.executeCommand('setContext', 'openprose.serverRunning', status === 'running');
  }

  private configuration(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(CONFIG_SECTION);
  }

  private async startClient(): Promise<void> {
    const config = this.configuration();
    const launch = readLaunchSettings(config);
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const storedKey = await this.context.secrets.get(API_KEY_SECRET);
    const env = serverEnvironment(process.env, storedKey, API_KEY_ENV);
    const executable = resolveExecutable(launch.command, { env, cwd });
    if (executable === undefined) {
      this.serverChannel.appendLine(`[client] Language server command not found: ${launch.command}`);
      this.missingCommand = launch.command;
      this.setStatus('missing', launch.command);
      void this.showServerMissing(launch.command);
      return;
    }
    this.serverChannel.appendLine(`[client] Starting ${executable} ${launch.args.join(' ')}`);
    this.setStatus('starting');

    const serverOptions: ServerOptions = executableOptions(executable, launch.args, env, cwd);
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.serverChannel,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: initializationOptions(readServerSettings(config)),
      middleware: {
        executeCommand: async (command, args, next) => {
          if (command === ServerCommands.run) {
            await this.saveDocument(args[0]);
          }
          return next(command, args);
        },
      },
      initializationFailedHandler: (error) => {
        this.serverChannel.appendLine(`[client] Server initialization failed: ${errorMessage(error)}`);
        return false;
      },
    };
    const client = new OpenProseLanguageClient('openprose', SERVER_OUTPUT_CHANNEL, serverOptions, clientOptions);
    client.onNotification(RUN_EVENT_NOTIFICATION, (params: unknown) => this.onRunEvent(params));
    // Registered before start, so it replaces vscode-languageclient's own handler.
    client.onRequest(ShowMessageRequest.type, (params: ShowMessageRequestParams, token: vscode.CancellationToken) =>
      this.askUser(params, token),
    );
    client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Running) {
        this.setStatus('running', executable);
      } else if (event.newState === State.Starting) {
        this.setStatus('starting');
      } else if (event.newState === State.Stopped) {
        this.setStatus('stopped');
        this.appendRunLines(this.tracker.abandonAll('the language server stopped'));
        this.refreshRunState();
      }
    });
    this.client = client;
    client.quiet = true;
    try {
      await client.start();
      client.quiet = false;
    } catch (error) {
      const message = errorMessage(error);
      this.serverChannel.appendLine(`[client] Could not start the language server: ${message}`);
      this.setStatus('failed', message);
      if (this.client === client) {
        this.client = undefined;
      }
      await client.dispose().catch(() => undefined);
      const choice = await vscode.window.showErrorMessage(
        `OpenProse: the language server (${[launch.command, ...launch.args].join(' ')}) stopped while starting ` +
          `(${message}). Its messages are in the "${SERVER_OUTPUT_CHANNEL}" output.`,
        'Show Output',
        'How to install',
      );
      if (choice === 'Show Output') {
        this.serverChannel.show(true);
      } else if (choice === 'How to install') {
        await this.showInstallHelp();
      }
    }
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) {
      return;
    }
    try {
      if (client.isRunning()) {
        await client.stop(3000);
      }
    } catch (error) {
      this.serverChannel.appendLine(`[client] Error while stopping the server: ${errorMessage(error)}`);
    }
    await client.dispose().catch(() => undefined);
    this.setStatus('stopped');
  }

  restart(announce = false): Promise<void> {
    return this.queue(async () => {
      this.serverChannel.appendLine('[client] Restarting the language server');
      await this.stopClient();
      await this.startClient();
      if (announce && this.client?.isRunning()) {
        void vscode.window.showInformationMessage('OpenProse language server restarted.');
      }
    });
  }

  private async showServerMissing(command: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(
      `OpenProse: the language server command "${command}" was not found. ` +
        `Install the OpenProse tooling (${INSTALL_COMMAND}) or set "openprose.server.command".`,
      'How to install',
      'Open Settings',
    );
    if (choice === 'How to install') {
      await this.showInstallHelp();
    } else if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'openprose.server');
    }
  }

  private async showInstallHelp(): Promise<void> {
    const readme = vscode.Uri.joinPath(this.context.extensionUri, 'README.md');
    try {
      await vscode.commands.executeCommand('markdown.showPreview', readme);
    } catch {
      try {
        await vscode.window.showTextDocument(readme, { preview: true });
      } catch {
        // The message below carries the essentials anyway.
      }
    }
    const choice = await vscode.window.showInformationMessage(
      `To install the OpenProse language server, run "${INSTALL_COMMAND}" at the root of the OpenProse ` +
        'tooling repository (Python 3.11+), then check that "prose lsp" runs, or point ' +
        '"openprose.server.command" at the prose executable.',
      'Copy Install Command',
      'Restart Server',
    );
    if (choice === 'Copy Install Command') {
      await vscode.env.clipboard.writeText(INSTALL_COMMAND);
    } else if (choice === 'Restart Server') {
      await this.restart(true);
    }
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (event.affectsConfiguration(`${CONFIG_SECTION}.server`)) {
      void this.restart();
      return;
    }
    if (
      event.affectsConfiguration(`${CONFIG_SECTION}.backend`) ||
      event.affectsConfiguration(`${CONFIG_SECTION}.modelAliases`)
    ) {
      const client = this.client;
      if (client?.isRunning()) {
        const params = didChangeConfigurationParams(readServerSettings(this.configuration()));
        void client.sendNotification(DidChangeConfigurationNotification.type, params).catch((error) => {
          this.serverChannel.appendLine(`[client] Could not send the configuration: ${errorMessage(error)}`);
        });
      }
    }
  }

  // ------------------------------------------------------------------ runs

  private targetUri(arg: unknown): vscode.Uri | undefined {
    if (arg instanceof vscode.Uri) {
      return arg;
    }
    if (typeof arg === 'string' && arg !== '') {
      return vscode.Uri.parse(arg);
    }
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.languageId === LANGUAGE_ID) {
      return editor.document.uri;
    }
    // Run from a non-text editor (the Get started walkthrough): the program shown beside it.
    const visible = vscode.window.visibleTextEditors.filter((e) => e.document.languageId === LANGUAGE_ID);
    return visible.length === 1 ? visible[0].document.uri : undefined;
  }

  private async saveDocument(arg: unknown): Promise<void> {
    const target = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.toString() : undefined;
    if (!target) {
      return;
    }
    const document = vscode.workspace.textDocuments.find((doc) => doc.uri.toString() === target);
    if (document?.isDirty && !document.isUntitled) {
      await document.save();
    }
  }

  private runningClient(): OpenProseLanguageClient | undefined {
    const client = this.client;
    if (client?.isRunning()) {
      return client;
    }
    if (this.status === 'missing') {
      void this.showServerMissing(this.missingCommand);
      return undefined;
    }
    void vscode.window
      .showErrorMessage('OpenProse: the language server is not running.', 'Restart Server', 'Show Output')
      .then((choice) => {
        if (choice === 'Restart Server') {
          void this.restart(true);
        } else if (choice === 'Show Output') {
          this.serverChannel.show(true);
        }
      });
    return undefined;
  }

  /**
   * `openprose.runProgram` takes a URI (editor title, explorer, code) or an
   * object `{ uri?, backend?, script?, inputs? }` (for example as keybinding
   * args), whose options are passed on to the server's `openprose.run`.
   */
  /**
   * Copies the bundled example into the extension's storage (so the user may
   * edit and run it, and its run state stays out of their projects) and
   * opens it. Running the command again restores the original.
   */
  private async openExample(): Promise<void> {
    const source = vscode.Uri.joinPath(this.context.extensionUri, EXAMPLE_PROGRAM);
    const folder = vscode.Uri.joinPath(this.context.globalStorageUri, 'examples');
    const target = vscode.Uri.joinPath(folder, 'hello.prose');
    try {
      await vscode.workspace.fs.createDirectory(folder);
      await vscode.workspace.fs.writeFile(target, await vscode.workspace.fs.readFile(source));
      const document = await vscode.workspace.openTextDocument(target);
      // From the walkthrough (the active tab is not a text editor), open it beside so both stay visible.
      const activeTab = vscode.window.tabGroups.activeTabGroup.activeTab;
      const beside = activeTab !== undefined && !(activeTab.input instanceof vscode.TabInputText);
      await vscode.window.showTextDocument(document, {
        preview: false,
        viewColumn: beside ? vscode.ViewColumn.Beside : undefined,
      });
    } catch (error) {
      void vscode.window.showErrorMessage(`OpenProse: could not open the example: ${errorMessage(error)}`);
    }
  }

  private async runProgram(arg: unknown, simulated: boolean): Promise<void> {
    const { target, options } = parseRunArgument(arg);
    if (simulated) {
      options.backend = 'simulated';
    }
    const uri = this.targetUri(target);
    if (!uri) {
      void vscode.window.showWarningMessage('OpenProse: open a .prose file to run it.');
      return;
    }
    const client = this.runningClient();
    if (!client) {
      return;
    }
    await this.saveDocument(uri);
    const args: unknown[] = [client.code2ProtocolConverter.asUri(uri)];
    if (Object.keys(options).length > 0) {
      args.push(options);
    }
    this.runChannel.show(true);
    try {
      const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
        command: ServerCommands.run,
        arguments: args,
      });
      // The server answers {runId} once the run is scheduled, or
      // {runId: null, status: "not-run", error} (it also shows that message itself).
      const answer = (typeof result === 'object' && result !== null ? result : {}) as Record<string, unknown>;
      if (answer.status === 'not-run' || (answer.runId === null && typeof answer.error === 'string')) {
        this.runChannel.appendLine(`✖ Not run: ${uri.fsPath || uri.toString()}: ${String(answer.error ?? 'unknown reason')}`);
        this.runChannel.appendLine('');
      }
    } catch (error) {
      const message = errorMessage(error);
      this.runChannel.appendLine(`✖ Could not run ${uri.fsPath || uri.toString()}: ${message}`);
      void vscode.window.showErrorMessage(`OpenProse: could not run the program: ${message}`);
    }
  }

  private async stopRun(arg: unknown): Promise<void> {
    let uri = this.targetUri(arg);
    const active = this.tracker.active();
    if (!uri && active.length > 0) {
      uri = vscode.Uri.parse(active[active.length - 1].uri);
    }
    if (!uri) {
      void vscode.window.showInformationMessage('OpenProse: no run to stop.');
      return;
    }
    const client = this.runningClient();
    if (!client) {
      return;
    }
    try {
      await client.sendRequest(ExecuteCommandRequest.type, {
        command: ServerCommands.stop,
        arguments: [client.code2ProtocolConverter.asUri(uri)],
      });
    } catch (error) {
      void vscode.window.showErrorMessage(`OpenProse: could not stop the run: ${errorMessage(error)}`);
    }
  }

  private appendRunLines(lines: string[]): void {
    for (const line of lines) {
      this.runChannel.appendLine(line);
    }
  }

  private refreshRunState(): void {
    this.runTree.refresh();
    void vscode.commands.executeCommand('setContext', 'openprose.runActive', this.tracker.active().length > 0);
    void vscode.commands.executeCommand('setContext', 'openprose.hasRuns', this.tracker.all().length > 0);
  }

  /**
   * A question from the server (a `prompt` permission is shown modal); null when dismissed.
   * VS Code cannot close a dialog from code, so a question the server withdrew (its run
   * was stopped) stays until answered, and that answer is only logged.
   */
  private async askUser(params: ShowMessageRequestParams, token: vscode.CancellationToken): Promise<MessageAction | null> {
    const shown = presentMessageRequest(params);
    const show =
      shown.severity === 'error'
        ? vscode.window.showErrorMessage
        : shown.severity === 'warning'
          ? vscode.window.showWarningMessage
          : vscode.window.showInformationMessage;
    const options: vscode.MessageOptions = shown.modal ? { modal: true, detail: shown.detail } : {};
    if (shown.modal) {
      this.runChannel.appendLine(`  ? ${shown.message}`);
    }
    const items: vscode.MessageItem[] = shown.actions.map((action) => ({
      title: action.title,
      isCloseAffordance: action.title === shown.closeAffordance,
    }));
    const choice = await show(shown.message, options, ...items);
    const answer = shown.actions.find((action) => action.title === choice?.title) ?? null;
    if (shown.modal) {
      const late = token.isCancellationRequested ? ' (the run had stopped; the answer was not used)' : '';
      this.runChannel.appendLine(`    answered: ${answer?.title ?? 'dismissed'}${late}`);
    }
    return answer;
  }

  private onRunEvent(raw: unknown): void {
    const params = parseRunEventParams(raw);
    if (!params) {
      this.serverChannel.appendLine(`[client] Ignoring malformed ${RUN_EVENT_NOTIFICATION}: ${JSON.stringify(raw)}`);
      return;
    }
    const { run, lines, runStateChanged } = this.tracker.apply(params);
    if (params.event.type === 'run.start') {
      this.runChannel.show(true);
    }
    this.appendRunLines(lines);
    this.refreshRunState();
    if (runStateChanged && params.event.type === 'run.end' && run.status === 'failed') {
      void vscode.window
        .showErrorMessage(`OpenProse run failed${run.error ? `: ${run.error}` : '.'}`, 'Show Output')
        .then((choice) => {
          if (choice === 'Show Output') {
            this.runChannel.show(true);
          }
        });
    }
  }

  // --------------------------------------------------------------- API key

  private async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: 'OpenProse: Anthropic API key',
      prompt: `Stored in VS Code's secret storage and passed to the language server as ${API_KEY_ENV}.`,
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value.trim() === '' ? 'Enter a key, or press Escape to cancel.' : undefined),
    });
    if (key === undefined) {
      return;
    }
    await this.context.secrets.store(API_KEY_SECRET, key.trim());
    await this.restart();
    void vscode.window.showInformationMessage(
      'OpenProse: API key stored in secret storage; the language server was restarted to use it.',
    );
  }

  private async clearApiKey(): Promise<void> {
    await this.context.secrets.delete(API_KEY_SECRET);
    await this.restart();
    void vscode.window.showInformationMessage(
      `OpenProse: stored API key removed; the server now uses ${API_KEY_ENV} from the environment, if set.`,
    );
  }

  async shutdown(): Promise<void> {
    await this.queue(() => this.stopClient());
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}

let extension: OpenProseExtension | undefined;

export function activate(context: vscode.ExtensionContext): void {
  extension = new OpenProseExtension(context);
  context.subscriptions.push(extension);
  extension.activate();
}

export async function deactivate(): Promise<void> {
  await extension?.shutdown();
  extension = undefined;
}

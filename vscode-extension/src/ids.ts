/** Identifiers shared by the extension modules (and checked by the manifest test). */

export const LANGUAGE_ID = 'prose';
export const CONFIG_SECTION = 'openprose';

/** Commands the extension registers itself (contributed in package.json). */
export const ClientCommands = {
  runProgram: 'openprose.runProgram',
  runProgramSimulated: 'openprose.runProgramSimulated',
  stopRun: 'openprose.stopRun',
  restartServer: 'openprose.restartServer',
  setApiKey: 'openprose.setApiKey',
  clearApiKey: 'openprose.clearApiKey',
  showRunOutput: 'openprose.showRunOutput',
  showInstallHelp: 'openprose.showInstallHelp',
  clearRuns: 'openprose.clearRuns',
  openExample: 'openprose.openExample',
} as const;

/** The example the Get started walkthrough opens (shipped in the .vsix, a copy of examples/hello.prose). */
export const EXAMPLE_PROGRAM = 'examples/hello.prose';

/**
 * Commands implemented by the language server (workspace/executeCommand).
 * vscode-languageclient registers these in VS Code itself when the server
 * lists them in `executeCommandProvider`, which is what makes the server's
 * "Run" code lenses clickable. The extension must therefore never register
 * (or contribute) a command with one of these ids.
 */
export const ServerCommands = {
  run: 'openprose.run',
  stop: 'openprose.stop',
} as const;

export const RUN_EVENT_NOTIFICATION = 'openprose/runEvent';

export const SERVER_OUTPUT_CHANNEL = 'OpenProse Language Server';
export const RUN_OUTPUT_CHANNEL = 'OpenProse Run';

export const API_KEY_SECRET = 'openprose.anthropicApiKey';
export const API_KEY_ENV = 'ANTHROPIC_API_KEY';

export const INSTALL_COMMAND = "python -m pip install -e '.[dev]'";

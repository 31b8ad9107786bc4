/** Reading the `openprose.*` settings into the shapes the server expects. */

export type Backend = 'auto' | 'simulated' | 'anthropic';
export const BACKENDS: readonly Backend[] = ['auto', 'simulated', 'anthropic'];

export interface ServerSettings {
  backend: Backend;
  modelAliases: Record<string, string>;
}

export interface LaunchSettings {
  command: string;
  args: string[];
}

/** Minimal view of `vscode.WorkspaceConfiguration` so this stays testable. */
export interface ConfigurationReader {
  get<T>(section: string): T | undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readServerSettings(config: ConfigurationReader): ServerSettings {
  const rawBackend = config.get<string>('backend');
  const backend = BACKENDS.includes(rawBackend as Backend) ? (rawBackend as Backend) : 'auto';
  const rawAliases = config.get<unknown>('modelAliases');
  const modelAliases: Record<string, string> = {};
  if (isPlainObject(rawAliases)) {
    for (const [alias, model] of Object.entries(rawAliases)) {
      if (typeof model === 'string' && alias.trim() !== '') {
        modelAliases[alias] = model;
      }
    }
  }
  return { backend, modelAliases };
}

export function readLaunchSettings(config: ConfigurationReader): LaunchSettings {
  const rawCommand = config.get<string>('server.command');
  const command = typeof rawCommand === 'string' && rawCommand.trim() !== '' ? rawCommand.trim() : 'prose';
  const rawArgs = config.get<unknown>('server.args');
  const args = Array.isArray(rawArgs) ? rawArgs.filter((arg): arg is string => typeof arg === 'string') : ['lsp'];
  return { command, args };
}

/** `initializationOptions` sent with the LSP `initialize` request. */
export function initializationOptions(settings: ServerSettings): ServerSettings {
  return { backend: settings.backend, modelAliases: { ...settings.modelAliases } };
}

/**
 * `workspace/didChangeConfiguration` params. The values sit both at the top
 * level of `settings` (same shape as the initialization options) and under
 * `settings.openprose` (the shape VS Code's own settings tree has), so a
 * server may read either.
 */
export function didChangeConfigurationParams(settings: ServerSettings): {
  settings: ServerSettings & { openprose: ServerSettings };
} {
  const flat = initializationOptions(settings);
  return { settings: { ...flat, openprose: initializationOptions(settings) } };
}

/**
 * Environment for the server process: the editor's environment, plus the API
 * key from secret storage when one was stored (it takes precedence over an
 * inherited ANTHROPIC_API_KEY, since storing it was an explicit choice).
 */
export function serverEnvironment(
  base: NodeJS.ProcessEnv,
  storedApiKey: string | undefined,
  envName = 'ANTHROPIC_API_KEY',
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  if (storedApiKey !== undefined && storedApiKey.trim() !== '') {
    env[envName] = storedApiKey.trim();
  }
  return env;
}

/**
 * How vscode-languageclient spawns the server. No `transport` on purpose:
 * with `TransportKind.stdio` the client appends `--stdio` to the arguments,
 * which `prose lsp` rejects; without it the client still talks over the
 * process's stdin/stdout.
 */
export function executableOptions(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string | undefined,
  platform: NodeJS.Platform = process.platform,
): { command: string; args: string[]; options: { env: NodeJS.ProcessEnv; cwd?: string; shell: boolean } } {
  return {
    command,
    args: [...args],
    options: { env, cwd, shell: platform === 'win32' && /\.(cmd|bat)$/i.test(command) },
  };
}

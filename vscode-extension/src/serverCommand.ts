/**
 * Locating the language server executable before spawning it, so that a
 * missing `prose` command produces one clear message instead of a spawn
 * error followed by crash/restart notifications.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ResolveOptions {
  /** Environment used for PATH / PATHEXT lookup. */
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against (first workspace folder). */
  cwd?: string;
  platform?: NodeJS.Platform;
}

function isExecutableFile(file: string, platform: NodeJS.Platform): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pathEntry(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string {
  if (platform === 'win32') {
    const key = Object.keys(env).find((name) => name.toUpperCase() === 'PATH');
    return key ? env[key] ?? '' : '';
  }
  return env.PATH ?? '';
}

/** Expands a leading `~` (common in hand-written settings). */
export function expandHome(command: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME ?? env.USERPROFILE;
  if (home && (command === '~' || command.startsWith('~/'))) {
    return path.join(home, command.slice(1));
  }
  return command;
}

/**
 * Returns the absolute path of `command` (a bare name searched on PATH, or a
 * path), or `undefined` if no executable file matches.
 */
export function resolveExecutable(command: string, options: ResolveOptions = {}): string | undefined {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const trimmed = expandHome(command.trim(), env);
  if (trimmed === '') {
    return undefined;
  }
  const pathApi = platform === 'win32' ? path.win32 : path.posix;
  const extensions =
    platform === 'win32'
      ? ['', ...(env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean)]
      : [''];
  const hasSeparator = trimmed.includes('/') || (platform === 'win32' && trimmed.includes('\\'));
  if (hasSeparator || pathApi.isAbsolute(trimmed)) {
    const base = pathApi.isAbsolute(trimmed) ? trimmed : pathApi.resolve(options.cwd ?? process.cwd(), trimmed);
    for (const ext of extensions) {
      if (isExecutableFile(base + ext, platform)) {
        return base + ext;
      }
    }
    return undefined;
  }
  const separator = platform === 'win32' ? ';' : ':';
  for (const dir of pathEntry(env, platform).split(separator)) {
    if (dir === '') {
      continue;
    }
    for (const ext of extensions) {
      const candidate = pathApi.join(dir, trimmed + ext);
      if (isExecutableFile(candidate, platform)) {
        return candidate;
      }
    }
  }
  return undefined;
}

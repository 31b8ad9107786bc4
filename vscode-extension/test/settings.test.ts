import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigurationReader,
  didChangeConfigurationParams,
  executableOptions,
  initializationOptions,
  readLaunchSettings,
  readServerSettings,
  serverEnvironment,
} from '../src/settings';

function reader(values: Record<string, unknown>): ConfigurationReader {
  return { get: <T>(key: string) => values[key] as T | undefined };
}

describe('settings', () => {
  it('reads the backend and model aliases, with safe defaults', () => {
    assert.deepEqual(readServerSettings(reader({})), { backend: 'auto', modelAliases: {} });
    assert.deepEqual(
      readServerSettings(reader({ backend: 'simulated', modelAliases: { sonnet: 'model-a', bad: 3, '': 'x' } })),
      { backend: 'simulated', modelAliases: { sonnet: 'model-a' } },
    );
    assert.equal(readServerSettings(reader({ backend: 'nonsense' })).backend, 'auto');
    assert.deepEqual(readServerSettings(reader({ modelAliases: ['x'] })).modelAliases, {});
  });

  it('passes exactly {backend, modelAliases} as initialization options', () => {
    const options = initializationOptions({ backend: 'anthropic', modelAliases: { opus: 'model-b' } });
    assert.deepEqual(Object.keys(options).sort(), ['backend', 'modelAliases']);
    assert.deepEqual(options, { backend: 'anthropic', modelAliases: { opus: 'model-b' } });
  });

  it('sends the same values on workspace/didChangeConfiguration', () => {
    const params = didChangeConfigurationParams({ backend: 'simulated', modelAliases: { a: 'b' } });
    assert.equal(params.settings.backend, 'simulated');
    assert.deepEqual(params.settings.modelAliases, { a: 'b' });
    assert.deepEqual(params.settings.openprose, { backend: 'simulated', modelAliases: { a: 'b' } });
  });

  it('reads the launch command', () => {
    assert.deepEqual(readLaunchSettings(reader({})), { command: 'prose', args: ['lsp'] });
    assert.deepEqual(
      readLaunchSettings(reader({ 'server.command': ' /opt/venv/bin/prose ', 'server.args': ['lsp', '--log', 1] })),
      { command: '/opt/venv/bin/prose', args: ['lsp', '--log'] },
    );
    assert.deepEqual(readLaunchSettings(reader({ 'server.command': '', 'server.args': [] })), {
      command: 'prose',
      args: [],
    });
  });

  it('spawns exactly `command ...args` (no --stdio added by a transport option)', () => {
    const options = executableOptions('/venv/bin/prose', ['lsp'], { PATH: '/bin' }, '/work', 'linux');
    assert.deepEqual(options, {
      command: '/venv/bin/prose',
      args: ['lsp'],
      options: { env: { PATH: '/bin' }, cwd: '/work', shell: false },
    });
    assert.equal('transport' in options, false);
    assert.equal(executableOptions('C:\\tools\\prose.cmd', [], {}, undefined, 'win32').options.shell, true);
  });

  it('hands a stored API key to the server process only through its environment', () => {
    const base = { PATH: '/bin', ANTHROPIC_API_KEY: 'from-env' };
    assert.equal(serverEnvironment(base, undefined).ANTHROPIC_API_KEY, 'from-env');
    assert.equal(serverEnvironment(base, ' stored ').ANTHROPIC_API_KEY, 'stored');
    assert.equal(serverEnvironment({ PATH: '/bin' }, '').ANTHROPIC_API_KEY, undefined);
    assert.equal(base.ANTHROPIC_API_KEY, 'from-env', 'the base environment is not modified');
  });
});

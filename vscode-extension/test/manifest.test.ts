import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ClientCommands, EXAMPLE_PROGRAM, ServerCommands } from '../src/ids';
import { EXTENSION_ROOT } from './textmate';

const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8'));
const contributed: string[] = manifest.contributes.commands.map((c: { command: string }) => c.command);

describe('package.json', () => {
  it('contributes every client command, titled under the OpenProse category', () => {
    for (const id of Object.values(ClientCommands)) {
      assert.ok(contributed.includes(id), `${id} contributed`);
    }
    for (const command of manifest.contributes.commands) {
      assert.equal(command.category, 'OpenProse', command.command);
    }
    const titles = Object.fromEntries(
      manifest.contributes.commands.map((c: { command: string; title: string }) => [c.command, `${c.title}`]),
    );
    assert.equal(titles['openprose.runProgram'], 'Run Program');
    assert.equal(titles['openprose.runProgramSimulated'], 'Run Program (simulated)');
    assert.equal(titles['openprose.stopRun'], 'Stop Run');
    assert.equal(titles['openprose.restartServer'], 'Restart Language Server');
    assert.equal(titles['openprose.setApiKey'], 'Set Anthropic API Key');
  });

  it('never contributes the server-side command ids (vscode-languageclient registers those)', () => {
    for (const id of Object.values(ServerCommands)) {
      assert.ok(!contributed.includes(id), `${id} must not be contributed`);
      assert.ok(!(Object.values(ClientCommands) as string[]).includes(id), `${id} must not be a client command`);
    }
    const source = fs.readFileSync(path.join(EXTENSION_ROOT, 'src', 'extension.ts'), 'utf8');
    assert.ok(!/registerCommand\(\s*ServerCommands\./.test(source), 'extension.ts registers no server command');
    assert.ok(!/registerCommand\(\s*['"]openprose\.(run|stop)['"]/.test(source), 'no literal server command ids');
  });

  it('associates *.prose with the prose language and its grammar', () => {
    const language = manifest.contributes.languages.find((l: { id: string }) => l.id === 'prose');
    assert.deepEqual(language.extensions, ['.prose']);
    const grammar = manifest.contributes.grammars.find((g: { language: string }) => g.language === 'prose');
    assert.equal(grammar.scopeName, 'source.prose');
    assert.ok(fs.existsSync(path.join(EXTENSION_ROOT, grammar.path)));
    assert.ok(fs.existsSync(path.join(EXTENSION_ROOT, language.configuration)));
  });

  it('declares the settings with the documented defaults', () => {
    const props = manifest.contributes.configuration.properties;
    assert.equal(props['openprose.server.command'].default, 'prose');
    assert.deepEqual(props['openprose.server.args'].default, ['lsp']);
    assert.deepEqual(props['openprose.backend'].enum, ['auto', 'simulated', 'anthropic']);
    assert.equal(props['openprose.backend'].default, 'auto');
    assert.equal(props['openprose.modelAliases'].type, 'object');
    assert.ok(
      !Object.keys(props).some((key) => /key|token|secret/i.test(key)),
      'no setting holds the API key',
    );
  });

  it('pins exact dependency versions and bundles to dist/extension.js', () => {
    for (const field of ['dependencies', 'devDependencies']) {
      for (const [name, version] of Object.entries(manifest[field] as Record<string, string>)) {
        assert.match(version, /^\d+\.\d+\.\d+$/, `${name}@${version} is pinned`);
      }
    }
    assert.equal(manifest.dependencies['vscode-languageclient'].split('.')[0], '9');
    assert.equal(manifest.main, './dist/extension.js');
    for (const script of ['build', 'package', 'typecheck', 'test']) {
      assert.ok(manifest.scripts[script], `npm script ${script}`);
    }
  });

  it('has what vsce needs to package offline', () => {
    assert.ok(manifest.publisher && manifest.repository && manifest.license);
    assert.ok(fs.existsSync(path.join(EXTENSION_ROOT, 'LICENSE')));
    assert.ok(fs.existsSync(path.join(EXTENSION_ROOT, 'README.md')));
  });
});

describe('first-hour experience', () => {
  it('names the real repository, not a placeholder', () => {
    const url: string = manifest.repository.url;
    assert.match(url, /^https:\/\/github\.com\/[\w.-]+\/openprose-tooling(\.git)?$/);
    assert.ok(!/example\.(invalid|com)/.test(JSON.stringify(manifest)), 'no placeholder URLs anywhere');
    assert.equal(manifest.repository.directory, 'vscode-extension');
  });

  it('has a 128x128 PNG icon', () => {
    const png = fs.readFileSync(path.join(EXTENSION_ROOT, manifest.icon));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.readUInt32BE(16), 128);
    assert.equal(png.readUInt32BE(20), 128);
  });

  it('contributes a Get started walkthrough that opens an example and runs it simulated', () => {
    const [walkthrough] = manifest.contributes.walkthroughs;
    assert.ok(walkthrough.title.includes('OpenProse'));
    const steps: { id: string; description: string; media: { markdown?: string }; completionEvents: string[] }[] =
      walkthrough.steps;
    const commandsOf = (step: { description: string }) =>
      [...step.description.matchAll(/\]\(command:([\w.]+)\)/g)].map((m) => m[1]);
    assert.deepEqual(commandsOf(steps[0]), [ClientCommands.openExample]);
    assert.deepEqual(commandsOf(steps[1]), [ClientCommands.runProgramSimulated]);
    for (const step of steps) {
      for (const command of commandsOf(step)) {
        assert.ok(contributed.includes(command), `${step.id}: ${command} is a contributed command`);
        assert.ok(step.completionEvents.includes(`onCommand:${command}`), `${step.id} completes on its command`);
      }
      assert.ok(step.media.markdown && fs.existsSync(path.join(EXTENSION_ROOT, step.media.markdown)), step.id);
    }
  });

  it('ships the guide\'s first example unchanged', () => {
    const shipped = fs.readFileSync(path.join(EXTENSION_ROOT, EXAMPLE_PROGRAM), 'utf8');
    const original = fs.readFileSync(path.join(EXTENSION_ROOT, '..', 'examples', 'hello.prose'), 'utf8');
    assert.equal(shipped, original);
    const ignore = fs.readFileSync(path.join(EXTENSION_ROOT, '.vscodeignore'), 'utf8');
    assert.ok(!/^examples/m.test(ignore) && !/^images/m.test(ignore) && !/^walkthrough/m.test(ignore));
  });
});

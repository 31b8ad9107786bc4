import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expandHome, resolveExecutable } from '../src/serverCommand';

describe('resolveExecutable', () => {
  let dir: string;
  let tool: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openprose-resolve-'));
    tool = path.join(dir, 'prose');
    fs.writeFileSync(tool, '#!/bin/sh\nexit 0\n');
    fs.chmodSync(tool, 0o755);
    fs.writeFileSync(path.join(dir, 'not-executable'), 'data');
    fs.chmodSync(path.join(dir, 'not-executable'), 0o644);
    fs.mkdirSync(path.join(dir, 'a-directory'));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds a bare command on PATH', () => {
    const env = { PATH: ['/nonexistent', dir].join(path.delimiter) };
    assert.equal(resolveExecutable('prose', { env, platform: 'linux' }), tool);
  });

  it('returns undefined when the command is not on PATH', () => {
    assert.equal(resolveExecutable('prose', { env: { PATH: '/nonexistent' }, platform: 'linux' }), undefined);
    assert.equal(resolveExecutable('prose', { env: {}, platform: 'linux' }), undefined);
    assert.equal(resolveExecutable('  ', { env: { PATH: dir }, platform: 'linux' }), undefined);
  });

  it('accepts absolute and relative paths', () => {
    assert.equal(resolveExecutable(tool, { platform: 'linux' }), tool);
    assert.equal(resolveExecutable('./prose', { cwd: dir, platform: 'linux' }), tool);
    assert.equal(resolveExecutable('/nonexistent/bin/prose', { platform: 'linux' }), undefined);
  });

  it('rejects files that are not executable, and directories', () => {
    assert.equal(resolveExecutable(path.join(dir, 'not-executable'), { platform: 'linux' }), undefined);
    assert.equal(resolveExecutable('a-directory', { env: { PATH: dir }, platform: 'linux' }), undefined);
  });

  it('expands ~ from HOME', () => {
    assert.equal(expandHome('~/bin/prose', { HOME: '/home/u' }), path.join('/home/u', 'bin/prose'));
    assert.equal(expandHome('prose', { HOME: '/home/u' }), 'prose');
  });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { EXTENSION_ROOT, Token, tokenize } from './textmate';

const SAMPLE = fs.readFileSync(path.join(EXTENSION_ROOT, 'test', 'fixtures', 'sample.prose'), 'utf8');

/** Scopes of the `occurrence`-th token whose text is exactly `text` on line `line` (0-based). */
function scopesOf(lines: Token[][], line: number, text: string, occurrence = 0): string[] {
  const matches = lines[line].filter((token) => token.text === text);
  assert.ok(
    matches.length > occurrence,
    `no token ${JSON.stringify(text)} on line ${line}: ${JSON.stringify(lines[line].map((t) => t.text))}`,
  );
  return matches[occurrence].scopes;
}

function hasScope(scopes: string[], prefix: string): boolean {
  return scopes.some((scope) => scope === prefix || scope.startsWith(`${prefix}.`) || scope.split(' ').includes(prefix));
}

function assertScope(scopes: string[], prefix: string, what: string): void {
  assert.ok(hasScope(scopes, prefix), `${what}: expected a scope starting with ${prefix}, got ${scopes.join(' | ')}`);
}

function lineOf(text: string, needle: string): number {
  const index = text.split(/\r?\n/).findIndex((line) => line.includes(needle));
  assert.ok(index >= 0, `sample has no line containing ${needle}`);
  return index;
}

describe('TextMate grammar', () => {
  it('has the scope name used in package.json', () => {
    const grammar = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'syntaxes', 'openprose.tmLanguage.json'), 'utf8'));
    assert.equal(grammar.scopeName, 'source.prose');
  });

  it('colours comments, but not # inside strings', async () => {
    const lines = await tokenize(SAMPLE);
    assertScope(scopesOf(lines, 0, '#'), 'comment.line.number-sign', 'leading #');
    const stringLine = lineOf(SAMPLE, '# not a comment');
    const token = lines[stringLine].find((t) => t.text.includes('# not a comment'));
    assert.ok(token, 'token with "# not a comment"');
    assertScope(token.scopes, 'string.quoted.double', '# inside a string');
    assert.ok(!hasScope(token.scopes, 'comment'), '# inside a string is not a comment');
  });

  const keywordLines: Record<string, string> = {
    agent: 'agent a:',
    session: 'session "x"',
    resume: 'resume: a',
    let: 'let x = 1',
    const: 'const x = 1',
    output: 'output x = y',
    input: 'input x: "d"',
    use: 'use "p"',
    import: 'import "a" from "b"',
    block: 'block b(p):',
    do: 'do:',
    parallel: 'parallel:',
    for: 'for x in xs:',
    in: 'for x in xs:',
    repeat: 'repeat 2:',
    loop: 'loop:',
    until: 'loop until **done**:',
    while: 'loop while **busy**:',
    try: 'try:',
    catch: 'catch as e:',
    finally: 'finally:',
    throw: 'throw "x"',
    choice: 'choice **best**:',
    option: 'option "a":',
    if: 'if ready:',
    elif: 'elif ready:',
    else: 'else:',
    as: 'use "p" as q',
    and: 'if a and b:',
    or: 'if a or b:',
    not: 'if not a:',
  };

  for (const [keyword, line] of Object.entries(keywordLines)) {
    it(`colours the keyword "${keyword}"`, async () => {
      const [tokens] = await tokenize(line);
      const scopes = scopesOf([tokens], 0, keyword);
      assert.ok(
        hasScope(scopes, 'keyword') || hasScope(scopes, 'storage.type'),
        `${keyword} in ${JSON.stringify(line)}: ${scopes.join(' | ')}`,
      );
    });
  }

  it('does not colour keywords inside identifiers', async () => {
    const [tokens] = await tokenize('let for-each = format + input_text + as-is');
    for (const word of ['for-each', 'format', 'input_text', 'as-is']) {
      const scopes = scopesOf([tokens], 0, word);
      assert.ok(!hasScope(scopes, 'keyword') && !hasScope(scopes, 'storage.type'), `${word}: ${scopes.join(' | ')}`);
    }
  });

  it('colours property keys and well-known values', async () => {
    const lines = await tokenize(SAMPLE);
    const modelLine = lineOf(SAMPLE, 'model: sonnet');
    assertScope(scopesOf(lines, modelLine, 'model'), 'support.type.property-name', 'model:');
    assertScope(scopesOf(lines, modelLine, 'sonnet'), 'support.constant.model', 'sonnet');
    assertScope(scopesOf(lines, lineOf(SAMPLE, 'prompt: "You write'), 'prompt'), 'support.type.property-name', 'prompt:');
    assertScope(scopesOf(lines, lineOf(SAMPLE, 'context: {'), 'context'), 'support.type.property-name', 'context:');
    const backoff = lineOf(SAMPLE, 'backoff: exponential');
    assertScope(scopesOf(lines, backoff, 'exponential'), 'support.constant.backoff', 'exponential');
  });

  it('does not treat keyword-colon as a property key', async () => {
    for (const line of ['session: writer', 'else:', 'try:', '  finally:']) {
      const [tokens] = await tokenize(line);
      const keyword = line.trim().split(':')[0];
      const scopes = scopesOf([tokens], 0, keyword);
      assert.ok(!hasScope(scopes, 'support.type.property-name'), `${line}: ${scopes.join(' | ')}`);
    }
  });

  it('colours strings, escapes and interpolation', async () => {
    const lines = await tokenize(SAMPLE);
    const line = lineOf(SAMPLE, 'You write');
    assertScope(scopesOf(lines, line, '\\"'), 'constant.character.escape', 'escaped quote');
    assertScope(scopesOf(lines, line, '\\n'), 'constant.character.escape', '\\n');
    const brace = scopesOf(lines, line, '{');
    assertScope(brace, 'punctuation.definition.template-expression.begin', 'interpolation {');
    assertScope(brace, 'string.quoted.double', 'interpolation inside the string');
    assertScope(scopesOf(lines, line, 'topic'), 'variable.other.readwrite.interpolated', 'interpolated name');
    const member = lineOf(SAMPLE, '{draft.text}');
    assertScope(scopesOf(lines, member, 'text'), 'variable.other.readwrite.interpolated', 'member interpolation');
  });

  it('leaves {} and malformed braces as text and flags unknown escapes', async () => {
    const [tokens] = await tokenize('session "a {} b {x y} \\q {ok}"');
    assert.ok(!tokens.some((t) => t.text === '{}' && hasScope(t.scopes, 'meta.interpolation')));
    const bad = scopesOf([tokens], 0, '\\q');
    assertScope(bad, 'invalid.illegal', 'unknown escape');
    assertScope(scopesOf([tokens], 0, 'ok'), 'variable.other.readwrite.interpolated', '{ok}');
  });

  it('ends an unterminated string at the end of its line', async () => {
    const lines = await tokenize('session "open\nsession "next"');
    assertScope(scopesOf(lines, 1, 'session'), 'keyword.other.session', 'line after an unterminated string');
  });

  it('colours triple-quoted strings across lines, with interpolation and escapes', async () => {
    const lines = await tokenize(SAMPLE);
    const open = lineOf(SAMPLE, 'session """');
    assertScope(scopesOf(lines, open, '"""'), 'punctuation.definition.string.begin', 'opening """');
    const inner = open + 1;
    assert.equal(lines[inner][0].text, 'Summarize the draft:');
    assertScope(lines[inner][0].scopes, 'string.quoted.triple', 'first content line');
    assert.ok(!hasScope(lines[inner][0].scopes, 'punctuation.separator'), 'colon inside the string is text');
    assertScope(scopesOf(lines, open + 2, 'draft'), 'variable.other.readwrite.interpolated', 'interpolation in """');
    assertScope(scopesOf(lines, open + 3, '\\{'), 'constant.character.escape', 'escaped brace');
    assertScope(scopesOf(lines, open + 4, '"""'), 'punctuation.definition.string.end', 'closing """');
    const after = lineOf(SAMPLE, 'elif **it is close**');
    assertScope(scopesOf(lines, after, 'elif'), 'keyword.control', 'code after the triple string');
  });

  it('ends a triple-quoted string at the last three quotes of a run', async () => {
    const lines = await tokenize('session """"quoted""""\nlet x = 1');
    assert.equal(lines[0].at(-1)?.text, '"""');
    assertScope(lines[0].at(-1)!.scopes, 'punctuation.definition.string.end', 'closing run');
    assertScope(scopesOf(lines, 1, 'let'), 'storage.type', 'next line');
  });

  it('colours **conditions** and ***multi-line conditions***', async () => {
    const lines = await tokenize(SAMPLE);
    const loopLine = lineOf(SAMPLE, '**the essay is done**');
    assertScope(scopesOf(lines, loopLine, 'the essay is done'), 'string.unquoted.condition', '**condition**');
    assertScope(scopesOf(lines, loopLine, '**', 1), 'punctuation.definition.condition.end', 'closing **');
    const open = lineOf(SAMPLE, 'if ***');
    assertScope(scopesOf(lines, open, '***'), 'punctuation.definition.condition.begin', 'opening ***');
    assertScope(lines[open + 1][0].scopes, 'string.unquoted.condition', 'multi-line condition body');
    assertScope(lines[open + 2][0].scopes, 'string.unquoted.condition', 'multi-line condition body');
    assertScope(scopesOf(lines, open + 3, '***'), 'punctuation.definition.condition.end', 'closing ***');
    const [choice] = await tokenize('choice **best for {user}**:');
    assertScope(scopesOf([choice], 0, 'user'), 'variable.other.readwrite.interpolated', 'interpolation in a condition');
  });

  it('colours parallel modifiers, quoted or bare', async () => {
    const lines = await tokenize(SAMPLE);
    const quoted = lineOf(SAMPLE, 'parallel ("first"');
    assertScope(scopesOf(lines, quoted, 'first'), 'keyword.other.modifier.join', '"first"');
    assertScope(scopesOf(lines, quoted, 'on-fail'), 'keyword.other.modifier', 'on-fail');
    assertScope(scopesOf(lines, quoted, 'continue'), 'constant.language.policy', '"continue"');
    const bare = lineOf(SAMPLE, 'parallel (any');
    assertScope(scopesOf(lines, bare, 'any'), 'keyword.other.modifier.join', 'any');
    assertScope(scopesOf(lines, bare, 'count'), 'keyword.other.modifier', 'count');
    assertScope(scopesOf(lines, bare, '2'), 'constant.numeric', 'count value');
    assertScope(scopesOf(lines, bare, 'ignore'), 'constant.language.policy', 'ignore');
    assertScope(scopesOf(lines, lineOf(SAMPLE, '(regardless)'), 'regardless'), 'keyword.other.modifier.join', 'regardless');
    const [all] = await tokenize('parallel (all, on-fail: "fail-fast"):');
    assertScope(scopesOf([all], 0, 'all'), 'keyword.other.modifier.join', 'all');
    assertScope(scopesOf([all], 0, 'fail-fast'), 'constant.language.policy', 'fail-fast');
    const loop = lineOf(SAMPLE, '(max: 5)');
    assertScope(scopesOf(lines, loop, 'max'), 'keyword.other.modifier', 'loop max');
    const [typo] = await tokenize('parallel (frist):');
    assert.ok(!hasScope(scopesOf([typo], 0, 'frist'), 'keyword.other.modifier'), 'unknown modifiers are not coloured as such');
  });

  it('colours numbers, booleans, null, ->, and pipeline operators', async () => {
    const lines = await tokenize(SAMPLE);
    const flags = lineOf(SAMPLE, 'let flags');
    assertScope(scopesOf(lines, flags, 'true'), 'constant.language.boolean', 'true');
    assertScope(scopesOf(lines, flags, 'false'), 'constant.language.boolean', 'false');
    assertScope(scopesOf(lines, flags, 'null'), 'constant.language.null', 'null');
    assertScope(scopesOf(lines, flags, '1.5'), 'constant.numeric', '1.5');
    assertScope(scopesOf(lines, lineOf(SAMPLE, 'retry: 3'), '3'), 'constant.numeric', 'retry count');
    const arrow = lineOf(SAMPLE, '->');
    assertScope(scopesOf(lines, arrow, '->'), 'keyword.operator.arrow', '->');
    const filter = lineOf(SAMPLE, '| filter:');
    assertScope(scopesOf(lines, filter, '|'), 'keyword.operator.pipe', '|');
    assertScope(scopesOf(lines, filter, 'filter'), 'support.function.pipeline', 'filter');
    const reduce = lineOf(SAMPLE, '| reduce(');
    assertScope(scopesOf(lines, reduce, 'reduce'), 'support.function.pipeline', 'reduce');
    assertScope(scopesOf(lines, reduce, 'summary'), 'variable.parameter', 'reduce accumulator');
    for (const op of ['map', 'pmap']) {
      const [tokens] = await tokenize(`let y = xs | ${op}:`);
      assertScope(scopesOf([tokens], 0, op), 'support.function.pipeline', op);
    }
  });

  it('colours definitions and references', async () => {
    const lines = await tokenize(SAMPLE);
    assertScope(scopesOf(lines, lineOf(SAMPLE, 'agent writer:'), 'writer'), 'entity.name.type.agent', 'agent name');
    assertScope(scopesOf(lines, lineOf(SAMPLE, 'session: writer'), 'writer'), 'entity.name.type.agent', 'agent reference');
    assertScope(scopesOf(lines, lineOf(SAMPLE, 'do review('), 'review'), 'entity.name.function', 'block call');
    assertScope(scopesOf(lines, lineOf(SAMPLE, 'do review('), 'topic'), 'variable.parameter', 'keyword argument');
    const [block] = await tokenize('block review(topic, depth):');
    assertScope(scopesOf([block], 0, 'review'), 'entity.name.function.block', 'block name');
    assertScope(scopesOf([block], 0, 'depth'), 'variable.parameter', 'block parameter');
  });

  it('tokenizes every line of the sample without leaving a construct open', async () => {
    const lines = await tokenize(`${SAMPLE}\nlet after = 1`);
    assertScope(scopesOf(lines, lines.length - 1, 'let'), 'storage.type', 'line after the sample');
  });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { EXTENSION_ROOT } from './textmate';

const config = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'language-configuration.json'), 'utf8'));
const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8'));
const grammar = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'syntaxes', 'openprose.tmLanguage.json'), 'utf8'));

const increase = new RegExp(config.indentationRules.increaseIndentPattern);
const decrease = new RegExp(config.indentationRules.decreaseIndentPattern);

describe('language-configuration.json', () => {
  it('uses # for line comments', () => {
    assert.equal(config.comments.lineComment, '#');
  });

  it('pairs brackets and auto-closes quotes, including """', () => {
    const brackets = config.brackets.map((pair: string[]) => pair.join(''));
    assert.deepEqual(brackets.sort(), ['()', '[]', '{}']);
    const pairs = new Map(config.autoClosingPairs.map((pair: { open: string; close: string }) => [pair.open, pair.close]));
    for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}'], ['"', '"'], ['"""', '"""']]) {
      assert.equal(pairs.get(open), close, `auto-closing pair ${open}`);
    }
  });

  const indents = [
    'agent writer:',
    '  parallel:',
    'parallel ("first", on-fail: "continue"):',
    'parallel (any, count: 2):',
    'if **the answer is "yes: really"**:',
    'loop until ***done*** (max: 3):',
    'option "Plan A: fast":',
    'let pitches = ideas | map:   # expand each idea',
    'block review(topic, depth):',
    'else:',
  ];
  const noIndents = [
    'model: sonnet',
    'session "Ends with a colon:"',
    '# a comment ending with a colon:',
    'session "x"  # trailing comment:',
    'let x = session "y"',
    'let draft = session: writer',
    'prompt: """',
    'session "unterminated:',
  ];

  for (const line of indents) {
    it(`indents after ${JSON.stringify(line)}`, () => {
      assert.ok(increase.test(line), 'increaseIndentPattern');
      const rule = config.onEnterRules.find((r: { beforeText: string }) => new RegExp(r.beforeText).test(line));
      assert.ok(rule, 'an onEnterRule matches');
      assert.equal(rule.action.indent, 'indent');
    });
  }
  for (const line of noIndents) {
    it(`does not indent after ${JSON.stringify(line)}`, () => {
      assert.ok(!increase.test(line), 'increaseIndentPattern');
      assert.ok(!config.onEnterRules.some((r: { beforeText: string }) => new RegExp(r.beforeText).test(line)));
    });
  }

  it('outdents elif/else/catch/finally lines', () => {
    for (const line of ['  else:', '  elif **close**:', '  catch as err:', '  finally:  # cleanup']) {
      assert.ok(decrease.test(line), line);
    }
    for (const line of ['  elsewhere:', '  else_branch = 1', '  catcher:']) {
      assert.ok(!decrease.test(line), line);
    }
  });

  it('is linear on long lines (no catastrophic backtracking)', () => {
    const line = `session "${'a'.repeat(5000)}" ${'* '.repeat(2000)}`;
    const start = process.hrtime.bigint();
    increase.test(line);
    decrease.test(`else ${'** x '.repeat(2000)}`);
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(elapsedMs < 500, `took ${elapsedMs} ms`);
  });

  it('maps the text of triple-quoted strings and ***conditions*** to the prose-text language', () => {
    // Enter inside them then keeps the indentation instead of applying the `:` rule.
    const contribution = manifest.contributes.grammars.find((g: { language: string }) => g.language === 'prose');
    const embedded = contribution.embeddedLanguages as Record<string, string>;
    const contentNames = [grammar.repository['triple-string'].contentName, grammar.repository['triple-condition'].contentName];
    for (const contentName of contentNames) {
      const scope = String(contentName).split(' ')[0];
      assert.equal(embedded[scope], 'prose-text', scope);
    }
    const text = manifest.contributes.languages.find((l: { id: string }) => l.id === 'prose-text');
    assert.ok(text, 'prose-text language contributed');
    assert.deepEqual(text.aliases, [], 'hidden from the language picker');
    const textConfig = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, text.configuration), 'utf8'));
    assert.equal(textConfig.indentationRules, undefined);
    assert.equal(textConfig.onEnterRules, undefined);
  });

  it('treats hyphenated identifiers as one word', () => {
    const word = new RegExp(config.wordPattern, 'g');
    assert.deepEqual('on-fail: fail-fast'.match(word), ['on-fail', 'fail-fast']);
  });
});

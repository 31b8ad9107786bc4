/** Loads the extension's TextMate grammar with vscode-textmate + vscode-oniguruma. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';

export const EXTENSION_ROOT = path.resolve(__dirname, '..', '..');
export const GRAMMAR_PATH = path.join(EXTENSION_ROOT, 'syntaxes', 'openprose.tmLanguage.json');

export interface Token {
  text: string;
  scopes: string[];
}

let grammarPromise: Promise<textmate.IGrammar> | undefined;

export function loadGrammar(): Promise<textmate.IGrammar> {
  grammarPromise ??= (async () => {
    const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new textmate.Registry({
      onigLib: Promise.resolve({
        createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
        createOnigString: (text: string) => new oniguruma.OnigString(text),
      }),
      loadGrammar: async (scopeName: string) => {
        if (scopeName !== 'source.prose') {
          return null;
        }
        return textmate.parseRawGrammar(fs.readFileSync(GRAMMAR_PATH, 'utf8'), GRAMMAR_PATH);
      },
    });
    const grammar = await registry.loadGrammar('source.prose');
    if (!grammar) {
      throw new Error('grammar source.prose did not load');
    }
    return grammar;
  })();
  return grammarPromise;
}

/** Tokenizes `text` line by line, carrying the rule stack across lines. */
export async function tokenize(text: string): Promise<Token[][]> {
  const grammar = await loadGrammar();
  let state = textmate.INITIAL;
  const lines: Token[][] = [];
  for (const line of text.split(/\r?\n/)) {
    const result = grammar.tokenizeLine(line, state);
    lines.push(
      result.tokens.map((token) => ({
        text: line.slice(token.startIndex, token.endIndex),
        scopes: token.scopes,
      })),
    );
    state = result.ruleStack;
  }
  return lines;
}

// Bundles the extension (and, with --tests, the unit tests) with esbuild.
//   node scripts/build.mjs               development bundle -> dist/extension.js
//   node scripts/build.mjs --production  minified bundle without source maps
//   node scripts/build.mjs --watch       rebuild on change
//   node scripts/build.mjs --tests       bundle test/*.test.ts -> out/test/*.test.js
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const production = args.has('--production');

async function buildTests() {
  const testDir = join(root, 'test');
  const entryPoints = readdirSync(testDir)
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => join(testDir, name));
  rmSync(join(root, 'out', 'test'), { recursive: true, force: true });
  await esbuild.build({
    entryPoints,
    outdir: join(root, 'out', 'test'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    // Test dependencies (vscode-textmate, vscode-oniguruma) are loaded from
    // node_modules at run time; `vscode` is never imported by tested modules.
    packages: 'external',
    logLevel: 'warning',
  });
}

async function buildExtension() {
  const options = {
    entryPoints: [join(root, 'src', 'extension.ts')],
    outfile: join(root, 'dist', 'extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['vscode'],
    minify: production,
    sourcemap: production ? false : 'linked',
    sourcesContent: false,
    logLevel: 'info',
  };
  if (args.has('--watch')) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
    return;
  }
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  await esbuild.build(options);
}

try {
  if (args.has('--tests')) {
    await buildTests();
  } else {
    await buildExtension();
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}

// Builds the plugin folder the e2e server loads (CM_PLUGIN_DIR): the hello-wasm example compiled to
// WebAssembly, and a folder the server refuses (a node type whose config schema is not a valid JSON
// Schema), so that the Plugins page has one plugin of each status to show.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** HELLO_PLUGIN is the folder of the hello-wasm example (node type hello.greet). */
export const HELLO_PLUGIN = 'hello-wasm';

/** REFUSED_PLUGIN is the folder the server refuses: its only node type's schema has a type that does not exist. */
export const REFUSED_PLUGIN = 'broken-schema';

/** refusedManifest is the plugin.json of REFUSED_PLUGIN: valid but for the schema of /nodes/0. */
export function refusedManifest() {
  return {
    author: 'ConcertMaster e2e',
    description: 'A plugin whose node type has an invalid config schema.',
    kind: 'wasm',
    name: REFUSED_PLUGIN,
    nodes: [
      {
        description: 'Echoes its text.',
        schema: { properties: { text: { type: 'strnig' } }, type: 'object' },
        title: 'Echo',
        type: 'broken.echo',
      },
    ],
    version: '0.1.0',
    wasm: { module: 'plugin.wasm' },
  };
}

/**
 * buildPluginDir makes a temporary plugin folder holding HELLO_PLUGIN, built with the Go toolchain
 * (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared, a few seconds with a warm build cache), and
 * REFUSED_PLUGIN; it returns the folder's path. The caller removes it.
 * @returns {string}
 */
export function buildPluginDir() {
  const dir = mkdtempSync(join(tmpdir(), 'cm-e2e-plugins-'));
  try {
    const hello = join(dir, HELLO_PLUGIN);
    mkdirSync(hello);
    const wasm = join(hello, 'plugin.wasm');
    execFileSync(process.env.GO || 'go', ['build', '-buildmode=c-shared', '-o', wasm, './examples/plugins/hello-wasm'], {
      cwd: root,
      env: { ...process.env, GOARCH: 'wasm', GOOS: 'wasip1' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    writeFileSync(join(hello, 'plugin.json'), readFileSync(join(root, 'examples', 'plugins', HELLO_PLUGIN, 'plugin.json')));
    const refused = join(dir, REFUSED_PLUGIN);
    mkdirSync(refused);
    copyFileSync(wasm, join(refused, 'plugin.wasm'));
    writeFileSync(join(refused, 'plugin.json'), JSON.stringify(refusedManifest(), null, 2));
    return dir;
  } catch (e) {
    rmSync(dir, { force: true, recursive: true });
    throw new Error(`building the e2e plugin folder (needs Go: GOOS=wasip1 GOARCH=wasm go build): ${e instanceof Error ? e.message : e}`);
  }
}

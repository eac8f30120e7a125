/**
 * The optional third side, "baseline": another git ref of this repository, built in a temporary
 * `git worktree`, whose own processor and gateway Envoy config run next to this tree's in the same
 * benchmark run. Its start-up code is its own `dist/bench/lib/stack.js`, imported dynamically; the
 * API used (startProcessor, startGatewayEnvoy) is the one this module's stack.ts has had since
 * commit 4b89bac, so any ref from then on works.
 *
 * node_modules: when the ref's package-lock.json is byte-identical to this tree's, the worktree
 * gets a symlink to this tree's node_modules; otherwise `npm ci` installs its own. The Envoy
 * binary is this tree's (ENVOY_BIN), so both sides run the same Envoy.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { envoyBinary } from '../../scripts/lib/envoy-process.js';
import type { EnvoyRuntime, Processor, ProcessorOptions, ProxyUnderTest } from './stack.js';

/** What the benchmark calls in the baseline's stack module. */
export interface BaselineStackApi {
  startProcessor(o: ProcessorOptions): Promise<Processor>;
  startGatewayEnvoy(simPort: number, grpcPort: number, concurrency: number, runtime?: EnvoyRuntime, name?: string): Promise<ProxyUnderTest>;
}

export interface Baseline {
  ref: string;
  commit: string;
  subject: string;
  dir: string;
  nodeModules: 'symlink' | 'npm ci';
  buildSeconds: number;
  stack: BaselineStackApi;
  /** Removes the worktree. */
  cleanup(): void;
}

function git(root: string, args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Runs a command with inherited stderr (build output goes to the benchmark's log). */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-6000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} in ${cwd} exited ${code}:\n${out}`))));
  });
}

export async function prepareBaseline(root: string, ref: string, log: (msg: string) => void): Promise<Baseline> {
  let commit: string;
  try {
    commit = git(root, ['rev-parse', '--verify', `${ref}^{commit}`]);
  } catch {
    throw new Error(`--baseline-ref ${ref}: not a commit in ${root}`);
  }
  const subject = git(root, ['log', '-1', '--format=%s', commit]);
  const dir = mkdtempSync(path.join(os.tmpdir(), `gw-bench-baseline-${commit.slice(0, 10)}-`));
  rmSync(dir, { recursive: true, force: true }); // git worktree add wants to create it
  log(`baseline: git worktree add --detach ${dir} ${commit.slice(0, 12)} (${ref}: ${subject})`);
  git(root, ['worktree', 'add', '--detach', dir, commit]);
  const cleanup = () => {
    try {
      git(root, ['worktree', 'remove', '--force', dir]);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      try {
        git(root, ['worktree', 'prune']);
      } catch {
        // nothing more to do
      }
    }
  };
  try {
    const started = Date.now();
    const env: NodeJS.ProcessEnv = { ...process.env, ENVOY_BIN: process.env.ENVOY_BIN ?? envoyBinary() };
    const ownLock = readFileSync(path.join(root, 'package-lock.json'));
    const theirLock = path.join(dir, 'package-lock.json');
    let nodeModules: Baseline['nodeModules'];
    if (existsSync(theirLock) && readFileSync(theirLock).equals(ownLock)) {
      symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
      nodeModules = 'symlink';
      log("baseline: same package-lock.json, node_modules is a symlink to this tree's");
    } else {
      log('baseline: its package-lock.json differs: npm ci');
      await run('npm', ['ci', '--no-audit', '--no-fund'], dir, env);
      nodeModules = 'npm ci';
    }
    log('baseline: npm run build');
    await run('npm', ['run', 'build'], dir, env);
    const buildSeconds = Math.round((Date.now() - started) / 100) / 10;
    const stackFile = path.join(dir, 'dist', 'bench', 'lib', 'stack.js');
    if (!existsSync(stackFile)) throw new Error(`baseline ${ref}: its build has no ${path.relative(dir, stackFile)}`);
    // Its Envoy launcher looks for .venv in its own tree unless ENVOY_BIN says where Envoy is.
    process.env.ENVOY_BIN ??= env.ENVOY_BIN;
    const mod = (await import(pathToFileURL(stackFile).href)) as Partial<BaselineStackApi>;
    if (typeof mod.startProcessor !== 'function' || typeof mod.startGatewayEnvoy !== 'function') {
      throw new Error(`baseline ${ref}: ${path.relative(dir, stackFile)} does not export startProcessor and startGatewayEnvoy (the API of commit 4b89bac)`);
    }
    log(`baseline: built in ${buildSeconds} s`);
    return {
      ref,
      commit,
      subject,
      dir,
      nodeModules,
      buildSeconds,
      stack: { startProcessor: mod.startProcessor.bind(mod), startGatewayEnvoy: mod.startGatewayEnvoy.bind(mod) },
      cleanup,
    };
  } catch (err) {
    cleanup();
    throw err;
  }
}

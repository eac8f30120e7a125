import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

/**
 * A throwaway PostgreSQL for tests and the ledger's durability run: Debian's `postgresql`
 * binaries, a cluster made with initdb in a temp folder, trust auth, listening on a free loopback
 * port (and a Unix socket in that folder), no durability settings (fsync off). PostgreSQL refuses
 * to run as root: as root, the cluster and the server belong to `nobody`.
 */
export interface PostgresServerHandle {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** The postmaster's process. */
  readonly child: ChildProcess;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const NOBODY = 65534;
const SETPRIV_BIN = '/usr/bin/setpriv';
const READY_TIMEOUT_MS = 20_000;

/** The newest installed PostgreSQL's bin folder (PG_BIN_DIR overrides). */
export function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')) && existsSync(path.join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb): install the Debian package "postgresql" (apt-get install -y postgresql), or set PG_BIN_DIR',
    );
  }
  return path.join(root, versions[0]!, 'bin');
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** How to run a PostgreSQL binary: as nobody when we are root, and dying with this process. */
function command(bin: string, args: string[], opts: { pdeathsig: boolean }): [string, string[]] {
  const root = process.getuid?.() === 0;
  if (!existsSync(SETPRIV_BIN)) {
    if (root) throw new Error(`${SETPRIV_BIN} (util-linux) is needed to run PostgreSQL as nobody`);
    return [bin, args];
  }
  const pre = root ? ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'] : [];
  if (opts.pdeathsig) pre.push('--pdeathsig', 'KILL');
  return pre.length > 0 ? [SETPRIV_BIN, [...pre, '--', bin, ...args]] : [bin, args];
}

export async function startPostgres(): Promise<PostgresServerHandle> {
  const bin = postgresBinDir();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, NOBODY, NOBODY);
  const data = path.join(dir, 'data');
  const [initCmd, initArgs] = command(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    pdeathsig: false,
  });
  const init = spawnSync(initCmd, initArgs, { cwd: dir, encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${(init.stderr || init.stdout || String(init.error ?? '')).slice(-2000)}`);
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const [cmd, args] = command(
      path.join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-h',
        '127.0.0.1',
        '-k',
        dir,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=60',
      ],
      { pdeathsig: true },
    );
    const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited = false;
    child.once('exit', () => {
      exited = true;
      running.delete(child);
    });
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      if (await answers(url)) {
        ready = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) {
      lastError = new Error(`postgres on port ${port} ${exited ? 'exited' : 'did not answer'} at start:\n${output}`);
      await stopChild(child);
      continue;
    }
    return {
      url,
      port,
      child,
      async createDatabase(name: string) {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name}: a-z, 0-9 and _ only`);
        const c = new pg.Client({ connectionString: url });
        // A connection the server drops (at its shutdown) surfaces through the calls below, not as an event.
        c.on('error', () => undefined);
        await c.connect();
        try {
          await c.query(`CREATE DATABASE ${name}`);
        } finally {
          await c.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
      async stop() {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** SIGINT (PostgreSQL's fast shutdown), SIGKILL after 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
  running.delete(child);
}

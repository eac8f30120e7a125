import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { repoRoot } from '../config/paths.js';

/** Where the versioned SQL files live (copied beside the build in the image). */
export function migrationsDir(): string {
  return path.join(repoRoot(), 'ext-proc', 'src', 'ledger', 'migrations');
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** The migrations in a folder, in version order; throws on a misnamed file or a repeated version. */
export function readMigrations(dir = migrationsDir()): Migration[] {
  const out: Migration[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.sql')) continue;
    const m = FILE.exec(f);
    if (!m) throw new Error(`${path.join(dir, f)}: migration files are named NNN_name.sql (three digits, then a-z, 0-9 and _)`);
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) throw new Error(`${path.join(dir, f)}: version ${version} appears twice`);
    out.push({ version, name: m[2]!, sql: readFileSync(path.join(dir, f), 'utf8') });
  }
  return out;
}

/** An arbitrary constant: the advisory lock every ledger writer takes to migrate. */
const LOCK_KEY = 7_351_402_911;

/**
 * Applies the migrations not yet recorded in schema_migrations, all in one transaction under an
 * advisory lock: of several writers starting at once, one migrates and the others then find the
 * work done. A failing migration rolls back whole. Returns the versions applied.
 */
export async function migrate(client: pg.ClientBase, migrations = readMigrations()): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        await client.query(m.sql);
      } catch (err) {
        throw new Error(`migration ${String(m.version).padStart(3, '0')}_${m.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return applied;
}

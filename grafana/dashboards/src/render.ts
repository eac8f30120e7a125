/**
 * Renders the dashboards (npm run dashboards) to grafana/dashboards/*.json, where Grafana's file
 * provider loads them (grafana/provisioning/dashboards/dashboards.yaml). The JSON is committed;
 * a test fails when it differs from what this renders.
 */
import { readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../../ext-proc/src/config/paths.js';
import { DASHBOARDS } from './index.js';

export const DASHBOARDS_DIR = path.join(repoRoot(), 'grafana', 'dashboards');

/** Each dashboard's file name and its JSON text, as committed. */
export function renderDashboards(): Map<string, string> {
  return new Map(DASHBOARDS.map((d) => [d.file, `${JSON.stringify(d.build(), null, 2)}\n`]));
}

function main(): void {
  const rendered = renderDashboards();
  // A dashboard no longer rendered must not stay provisioned.
  for (const f of readdirSync(DASHBOARDS_DIR)) if (f.endsWith('.json') && !rendered.has(f)) unlinkSync(path.join(DASHBOARDS_DIR, f));
  for (const [file, text] of rendered) writeFileSync(path.join(DASHBOARDS_DIR, file), text);
  console.log(`${rendered.size} dashboards written to ${path.relative(process.cwd(), DASHBOARDS_DIR) || '.'}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();

/**
 * The committed dashboards are what grafana/dashboards/src renders (npm run dashboards), each has
 * the four variables, and every query applies them and reads only labels set from configuration.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS_DIR, renderDashboards } from '../../grafana/dashboards/src/render.js';
import { dashboardQueries, type DashboardJson } from '../helpers/dashboards.js';

const rendered = renderDashboards();
const committed = (file: string) => JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8')) as DashboardJson;

describe('dashboards', () => {
  it('are committed exactly as rendered (run `npm run dashboards` after changing grafana/dashboards/src)', () => {
    const files = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered) expect(readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8'), file).toBe(text);
  });

  it('have unique uids and panel ids', () => {
    const uids = [...rendered.keys()].map((f) => committed(f).uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const file of rendered.keys()) {
      const ids = dashboardQueries(committed(file)).panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
    }
  });

  it('each offer tenant, model, provider and instance, from label values, several at once or all', () => {
    for (const file of rendered.keys()) {
      const vars = committed(file).templating.list;
      expect(
        vars.map((v) => v.name),
        file,
      ).toEqual(['tenant', 'model', 'provider', 'instance']);
      for (const v of vars) {
        expect(v.query, `${file} ${v.name}`).toMatch(/^label_values\(/);
        expect(v.multi && v.includeAll && v.allValue === '.*', `${file} ${v.name}`).toBe(true);
      }
    }
  });

  it('filter every query by instance, use only their own variables, and never group by request strings', () => {
    for (const file of rendered.keys()) {
      for (const q of dashboardQueries(committed(file)).queries) {
        const where = `${file} / ${q.panel}: ${q.expr}`;
        expect(q.expr, where).toContain('instance=~"$instance"');
        for (const v of q.expr.match(/\$\w+/g) ?? []) expect(['$tenant', '$model', '$provider', '$instance', '$__rate_interval'], where).toContain(v);
        // The caller's model string is a request string: only the catalog's names are labels here.
        expect(q.expr, where).not.toContain('requested_model');
      }
    }
  });

  it('are provisioned from the folder docker-compose mounts', () => {
    const provisioning = parse(readFileSync(path.join(DASHBOARDS_DIR, '..', 'provisioning', 'dashboards', 'dashboards.yaml'), 'utf8')) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    const compose = parse(readFileSync(path.join(DASHBOARDS_DIR, '..', '..', 'docker-compose.yml'), 'utf8')) as {
      services: { grafana: { volumes: string[] } };
    };
    const mount = compose.services.grafana.volumes.find((v) => v.startsWith('./grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(provisioning.providers[0]!.options.path);
    expect(provisioning.providers[0]!.type).toBe('file');
  });
});

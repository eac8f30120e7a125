import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { canaries } from './canaries.js';
import { internals } from './internals.js';
import { models } from './models.js';
import { overview } from './overview.js';
import { pools } from './pools.js';
import { routing } from './routing.js';
import { tenants } from './tenants.js';

/** Every provisioned dashboard, by the file it is rendered to in grafana/dashboards/. */
export const DASHBOARDS: ReadonlyArray<{ file: string; build: () => Dashboard }> = [
  { file: 'overview.json', build: overview },
  { file: 'tenants.json', build: tenants },
  { file: 'models.json', build: models },
  { file: 'routing.json', build: routing },
  { file: 'pools.json', build: pools },
  { file: 'canaries.json', build: canaries },
  { file: 'internals.json', build: internals },
];

/**
 * Summarises a V8 .cpuprofile (as written by `node --cpu-prof`): self time per function, merged
 * across call sites, optionally restricted to a time window (the profile's timestamps and
 * process.hrtime share the system's monotonic clock, so the orchestrator can pass the exact span
 * of the load). Locations in the project's compiled code are mapped back to the TypeScript source
 * through the .js.map files next to them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionCost {
  name: string;
  /** Source location: project TypeScript where a source map says so, else the JS file. */
  location: string;
  selfMs: number;
  /** Share of the non-idle samples in the window. */
  pctBusy: number;
}

export interface ProfileSummary {
  file: string;
  windowMs: number;
  samples: number;
  busyMs: number;
  idleMs: number;
  /** Busy time / window: how much of one core the processor used. */
  cpuUtilisation: number;
  top: FunctionCost[];
  byArea: Array<{ area: string; selfMs: number; pctBusy: number }>;
}

const sourceMaps = new Map<string, SourceMap | null>();

function mapFor(jsFile: string): SourceMap | null {
  let m = sourceMaps.get(jsFile);
  if (m !== undefined) return m;
  m = null;
  const mapFile = `${jsFile}.map`;
  if (existsSync(mapFile)) {
    try {
      m = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')));
    } catch {
      m = null;
    }
  }
  sourceMaps.set(jsFile, m);
  return m;
}

function relative(root: string, file: string): string {
  const r = path.relative(root, file);
  return r.startsWith('..') ? file : r;
}

function locate(cf: CallFrame, root: string): { location: string; area: string } {
  const url = cf.url;
  if (!url) return { location: '', area: cf.functionName.startsWith('(') ? cf.functionName : 'native / V8 builtins' };
  if (url.startsWith('node:')) return { location: `${url}:${cf.lineNumber + 1}`, area: 'node core' };
  if (!url.startsWith('file://')) return { location: `${url}:${cf.lineNumber + 1}`, area: 'other' };
  const file = fileURLToPath(url);
  const rel = relative(root, file);
  const nm = rel.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = rel.slice(nm + 'node_modules/'.length).split('/');
    const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '?');
    return { location: `${rel}:${cf.lineNumber + 1}`, area: `npm: ${pkg}` };
  }
  const sm = mapFor(file);
  if (sm && cf.lineNumber >= 0) {
    const e = sm.findEntry(cf.lineNumber, Math.max(0, cf.columnNumber)) as { originalSource?: string; originalLine?: number };
    if (e.originalSource !== undefined && e.originalLine !== undefined) {
      const src = e.originalSource.startsWith('file://') ? fileURLToPath(e.originalSource) : path.resolve(path.dirname(file), e.originalSource);
      const srcRel = relative(root, src);
      return { location: `${srcRel}:${e.originalLine + 1}`, area: `project: ${srcRel}` };
    }
  }
  return { location: `${rel}:${cf.lineNumber + 1}`, area: `project: ${rel}` };
}

/** Self time per function within [fromUs, toUs] (monotonic-clock microseconds; omitted = all). */
export function summariseProfile(file: string, root: string, window?: { fromUs: number; toUs: number }, topN = 25): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of prof.nodes) byId.set(n.id, n);

  // Sample i happened at startTime + sum(timeDeltas[0..i]); it stands for the time until the next one.
  const n = prof.samples.length;
  const ts = new Float64Array(n);
  let t = prof.startTime;
  for (let i = 0; i < n; i++) {
    t += prof.timeDeltas[i] ?? 0;
    ts[i] = t;
  }
  const from = window?.fromUs ?? prof.startTime;
  const to = window?.toUs ?? prof.endTime;

  const selfUs = new Map<number, number>();
  let samples = 0;
  for (let i = 0; i < n; i++) {
    const at = ts[i]!;
    if (at < from || at > to) continue;
    const next = i + 1 < n ? ts[i + 1]! : prof.endTime;
    const dur = Math.max(0, Math.min(next, to) - at);
    const id = prof.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dur);
    samples++;
  }

  const fn = new Map<string, { name: string; location: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)?.callFrame;
    if (!cf) continue;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const { location, area } = locate(cf, root);
    const name = cf.functionName || '(anonymous)';
    const key = `${name}\u0000${location}`;
    const entry = fn.get(key) ?? { name, location, area, us: 0 };
    entry.us += us;
    fn.set(key, entry);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }

  const windowUs = Math.max(1, to - from);
  const pct = (us: number) => (busyUs > 0 ? Math.round((1000 * us) / busyUs) / 10 : 0);
  return {
    file,
    windowMs: Math.round(windowUs / 1000),
    samples,
    busyMs: Math.round(busyUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    cpuUtilisation: Math.round((1000 * busyUs) / windowUs) / 1000,
    top: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ name: e.name, location: e.location, selfMs: Math.round(e.us / 100) / 10, pctBusy: pct(e.us) })),
    byArea: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([area, us]) => ({ area, selfMs: Math.round(us / 100) / 10, pctBusy: pct(us) })),
  };
}

export function formatProfile(s: ProfileSummary, header: string): string {
  const lines: string[] = [];
  lines.push(header);
  lines.push(`profile: ${s.file}`);
  lines.push(
    `window ${s.windowMs} ms, ${s.samples} samples; processor busy ${s.busyMs} ms (${(s.cpuUtilisation * 100).toFixed(1)}% of one core), idle ${s.idleMs} ms`,
  );
  lines.push('');
  lines.push(`Top ${s.top.length} functions by self time (share of busy time):`);
  lines.push(`${'self ms'.padStart(9)} ${'busy%'.padStart(6)}  function  (location)`);
  for (const f of s.top) {
    lines.push(`${f.selfMs.toFixed(1).padStart(9)} ${f.pctBusy.toFixed(1).padStart(6)}  ${f.name}${f.location ? `  (${f.location})` : ''}`);
  }
  lines.push('');
  lines.push('Self time by area:');
  for (const a of s.byArea) lines.push(`${a.selfMs.toFixed(1).padStart(9)} ${a.pctBusy.toFixed(1).padStart(6)}  ${a.area}`);
  return `${lines.join('\n')}\n`;
}

/**
 * One chart, written as plain SVG: open-loop latency (p50 and p99, log y axis) against offered
 * load, one colour per side (bare, gateway, baseline), so the rate where a side's latency takes
 * off (its knee) is visible at a glance.
 */
import type { Side } from './report.js';

export interface LoadPoint {
  side: Side;
  rate: number;
  p50: number;
  p99: number;
  /** Errors or timeouts at this rate (drawn as a hollow marker). */
  errors: number;
}

const COLOURS: Record<Side, string> = { bare: '#4e79a7', gateway: '#e15759', baseline: '#59a14f' };
const W = 860;
const H = 500;
const M = { left: 78, right: 210, top: 64, bottom: 64 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number) => (Math.round(n * 10) / 10).toString();

function msLabel(v: number): string {
  if (v >= 1000) return `${(v / 1000).toLocaleString('en-US')} s`;
  if (v >= 1) return `${v.toLocaleString('en-US')} ms`;
  return `${v} ms`;
}

export function latencyChartSvg(points: LoadPoint[], title: string, subtitle: string): string {
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="26" font-size="16" font-weight="bold" fill="#222">${esc(title)}</text>`);
  out.push(`<text x="${M.left}" y="46" fill="#555">${esc(subtitle)}</text>`);

  const valid = points.filter((p) => p.p50 > 0 && p.p99 > 0 && Number.isFinite(p.p50) && Number.isFinite(p.p99));
  if (valid.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#555">No open-loop scenario ran: nothing to chart.</text></svg>`);
    return `${out.join('\n')}\n`;
  }

  const rates = [...new Set(valid.map((p) => p.rate))].sort((a, b) => a - b);
  const lx0 = Math.log10(rates[0]! / 1.3);
  const lx1 = Math.log10(rates[rates.length - 1]! * 1.3);
  const x = (rate: number) => M.left + ((Math.log10(rate) - lx0) / (lx1 - lx0)) * PLOT_W;
  const values = valid.flatMap((p) => [p.p50, p.p99]);
  let ly0 = Math.floor(Math.log10(Math.min(...values)));
  let ly1 = Math.ceil(Math.log10(Math.max(...values)));
  if (ly1 === ly0) ly1 = ly0 + 1;
  if (ly1 - ly0 < 2) ly0 -= 1;
  const y = (v: number) => M.top + PLOT_H - ((Math.log10(v) - ly0) / (ly1 - ly0)) * PLOT_H;

  // Grid and y axis: decades labelled, 2x and 5x as light lines.
  for (let k = ly0; k <= ly1; k++) {
    const v = 10 ** k;
    const yy = num(y(v));
    out.push(`<line x1="${M.left}" y1="${yy}" x2="${M.left + PLOT_W}" y2="${yy}" stroke="#cccccc"/>`);
    out.push(`<text x="${M.left - 8}" y="${yy}" dy="4" text-anchor="end" fill="#333">${esc(msLabel(Number(v.toPrecision(1))))}</text>`);
    if (k < ly1) {
      for (const m of [2, 5]) {
        const ym = num(y(m * v));
        out.push(`<line x1="${M.left}" y1="${ym}" x2="${M.left + PLOT_W}" y2="${ym}" stroke="#eeeeee"/>`);
      }
    }
  }
  // X axis: one tick per offered rate.
  for (const r of rates) {
    const xx = num(x(r));
    out.push(`<line x1="${xx}" y1="${M.top}" x2="${xx}" y2="${M.top + PLOT_H}" stroke="#eeeeee"/>`);
    out.push(`<text x="${xx}" y="${M.top + PLOT_H + 18}" text-anchor="middle" fill="#333">${r.toLocaleString('en-US')}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${M.left + PLOT_W / 2}" y="${H - 18}" text-anchor="middle" fill="#222">offered load (requests/s, log scale)</text>`);
  out.push(`<text transform="translate(20 ${M.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle" fill="#222">latency from scheduled send (log scale)</text>`);

  // Series: p50 solid with circles, p99 dashed with squares; hollow marker = errors or timeouts.
  const sides = (['bare', 'gateway', 'baseline'] as const).filter((s) => valid.some((p) => p.side === s));
  for (const side of sides) {
    const pts = valid.filter((p) => p.side === side).sort((a, b) => a.rate - b.rate);
    const colour = COLOURS[side];
    for (const q of ['p50', 'p99'] as const) {
      const path = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(x(p.rate))},${num(y(p[q]))}`).join(' ');
      out.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"${q === 'p99' ? ' stroke-dasharray="6 4"' : ''}/>`);
      for (const p of pts) {
        const cx = num(x(p.rate));
        const cy = num(y(p[q]));
        const fill = p.errors > 0 ? '#ffffff' : colour;
        if (q === 'p50')
          out.push(
            `<circle cx="${cx}" cy="${cy}" r="4" fill="${fill}" stroke="${colour}" stroke-width="2"><title>${side} p50 at ${p.rate} RPS: ${p.p50} ms${p.errors ? `, ${p.errors} errors/timeouts` : ''}</title></circle>`,
          );
        else
          out.push(
            `<rect x="${num(Number(cx) - 4)}" y="${num(Number(cy) - 4)}" width="8" height="8" fill="${fill}" stroke="${colour}" stroke-width="2"><title>${side} p99 at ${p.rate} RPS: ${p.p99} ms${p.errors ? `, ${p.errors} errors/timeouts` : ''}</title></rect>`,
          );
      }
    }
  }

  // Legend.
  const lx = M.left + PLOT_W + 18;
  let ly = M.top + 8;
  for (const side of sides) {
    const colour = COLOURS[side];
    for (const q of ['p50', 'p99'] as const) {
      out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 30}" y2="${ly}" stroke="${colour}" stroke-width="2"${q === 'p99' ? ' stroke-dasharray="6 4"' : ''}/>`);
      if (q === 'p50') out.push(`<circle cx="${lx + 15}" cy="${ly}" r="4" fill="${colour}" stroke="${colour}" stroke-width="2"/>`);
      else out.push(`<rect x="${lx + 11}" y="${ly - 4}" width="8" height="8" fill="${colour}" stroke="${colour}" stroke-width="2"/>`);
      out.push(`<text x="${lx + 38}" y="${ly}" dy="4" fill="#222">${side} ${q}</text>`);
      ly += 20;
    }
    ly += 6;
  }
  ly += 4;
  out.push(`<circle cx="${lx + 15}" cy="${ly}" r="4" fill="#ffffff" stroke="#555" stroke-width="2"/>`);
  out.push(`<text x="${lx + 38}" y="${ly}" dy="4" fill="#222">hollow: errors or</text>`);
  out.push(`<text x="${lx + 38}" y="${ly + 15}" dy="4" fill="#222">timeouts at that rate</text>`);
  out.push(`<text x="${lx + 38}" y="${ly + 30}" dy="4" fill="#222">(OK calls only)</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

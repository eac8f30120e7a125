import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../providers/canonical/types.js';
import { findPii } from './find.js';
import { Redactor } from './redactor.js';
import { redactBody, redactCanonical } from './request.js';

/*
 * What the stage costs on a 4,000-character prompt (budget: about 0.1 ms). Printed, not
 * asserted: timings on a shared CI machine are not a pass/fail matter. The assertions check the
 * work was really done.
 */

const PARAGRAPH =
  'Hola, soy cliente desde 2019 y el pedido 55821 del 12/03/2024 por 149,99 € no ha llegado. ' +
  'He actualizado la app a la versión 4.2.1 y sigue sin aparecer en el historial de la cuenta. ';
const PERSONAL = 'Podéis escribirme a ana.garcia@example.com o llamar al +34 612 345 678; IBAN ES91 2100 0418 4502 0005 1332. ';

function prompt(): string {
  let text = PERSONAL;
  while (text.length < 4000) text += PARAGRAPH;
  return text.slice(0, 4000);
}

/**
 * Mean CPU time per call in µs (what the process spent, not time waiting for a core on a busy
 * machine), and wall time for comparison.
 */
function perCall(fn: () => unknown): { cpu: number; wall: number } {
  for (let i = 0; i < 3000; i++) fn();
  const rounds = 10_000;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e3 / rounds;
  const used = process.cpuUsage(cpu0);
  return { cpu: (used.user + used.system) / rounds, wall };
}

const show = (t: { cpu: number; wall: number }) => `${t.cpu.toFixed(1).padStart(6)} µs CPU  (${t.wall.toFixed(1)} µs wall)`;

/** A bare loop over the characters: what "one pass over the prompt" costs on this machine. */
function digitsIn(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

describe('cost of PII screening on a 4,000-character prompt (printed)', () => {
  it('finding, and redacting the canonical request and the caller body', () => {
    const text = prompt();
    const chat: CanonicalRequest = { model: 'gpt-4o-mini', stream: false, sameFormatOnly: [], messages: [{ role: 'user', content: [{ type: 'text', text }] }] };
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] };
    expect(findPii(text).map((f) => f.type)).toEqual(['email', 'phone', 'iban']);
    const clean = text.replace(PERSONAL, '');

    const find = perCall(() => findPii(text));
    const findClean = perCall(() => findPii(clean));
    const redact = perCall(() => {
      const r = new Redactor();
      redactCanonical(chat, r);
      redactBody(body, r);
    });
    const loop = perCall(() => digitsIn(text));
    const r = new Redactor();
    const out = redactBody(body, r) as typeof body;
    expect(out.messages[0]!.content).toContain('<EMAIL_1>');
    console.log(
      [
        'PII screening, 4,000-character prompt (mean per call):',
        `  findPii, 3 values:                    ${show(find)}`,
        `  findPii, no values:                   ${show(findClean)}`,
        `  redact mode (canonical + caller body): ${show(redact)}`,
        `  for scale, one charCodeAt loop:       ${show(loop)}`,
      ].join('\n'),
    );
  });
});

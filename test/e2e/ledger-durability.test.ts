/*
 * The usage ledger under kill -9, a short fixed run of `npm run ledger:durability`: real Envoy,
 * the processor supervised as `npm start` runs it (two workers, each with its spool), real Redis,
 * a real PostgreSQL and two ledger writers as supervised child processes. Under load the
 * processor (primary and workers) is killed outright once, and a writer twice, each caught
 * holding entries it had read and not acknowledged. Every call the client saw completed must
 * have exactly one row; any other row must be a call the gateway metered and the client saw fail.
 */
import { describe, expect, it } from 'vitest';
import { durable, formatReport, runLedgerDurability } from '../../scripts/ledger-durability.js';

describe('usage ledger durability (sample of npm run ledger:durability)', () => {
  it('loses no completed call and stores none twice when the processor and the writers are killed with SIGKILL', async () => {
    const report = await runLedgerDurability({ seconds: 6, rps: 10, workers: 2, writers: 2, processorKills: 1, writerKills: 2, settleTimeoutMs: 15_000 });
    process.stdout.write(`\n${formatReport(report)}${report.events.map((e) => `  ${e.atS.toFixed(2)} s ${e.what}`).join('\n')}\n`);
    // The faults happened, and calls completed before and after the processor's kill.
    expect(report.processorKills).toBe(1);
    expect(report.writerKills).toBeGreaterThanOrEqual(1);
    expect(report.completed).toBeGreaterThan(10);
    expect(report.completedAfterProcessorKill).toBeGreaterThan(0);
    // Stored once each: a shipped-again record or a taken-over entry inserted again adds no row.
    expect(report.duplicates).toBe(0);
    // Every completed call has its row; the rows equal the completed calls, but for calls the
    // gateway metered whose answer the kill cut on its way to the client.
    expect(report.lost).toBe(0);
    expect(report.rows - report.extraOfFailed - report.extraUnknown).toBe(report.completed);
    expect(report.extraUnknown).toBeLessThanOrEqual(report.failedWithoutId);
    expect(report.settleS).not.toBeNull();
    expect(durable(report)).toBe(true);
  }, 90_000);
});

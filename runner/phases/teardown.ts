import { errorMessage } from '../../core/errors.ts';
import { readLedgerFile, runCleanup } from '../../core/resources.ts';
import { RESOURCE_HANDLERS } from '../../twin/index.ts';
import type { LoadResult } from '../../load/index.ts';
import type { RunContext } from '../context.ts';
import { stopAlerting } from './alerts.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROFILE_FILE } from '../../core/profile.ts';

/**
 * Runs whatever happened before: heal every active fault, stop the loads (keeping what they
 * measured), stop observing, take the twin down, and undo from the ledger whatever the orderly
 * teardown missed. Every step is tried even when an earlier one failed; what is left is listed.
 */
export async function tearDown(run: RunContext): Promise<void> {
  const { journal } = run;
  for (const [id, fault] of run.active) {
    const span = run.faultSpans.get(id);
    try {
      await run.activity(`heal ${id} (teardown)`, () => fault.heal(), { parent: span });
      const record = journal.faults.find((f) => f.id === id);
      if (record && record.healedAt === null) record.healedAt = Math.round(run.now());
      span?.setAttribute('moat.fault.healed_at_ms', record?.healedAt ?? -1);
    } catch (error) {
      journal.cleanup.ok = false;
      journal.cleanup.leftovers.push(`fault ${id}: ${errorMessage(error)}`);
    }
    span?.end();
  }
  run.active.clear();
  await Promise.all(run.loads.map((l) => l.stop().catch(() => undefined)));
  for (const load of run.loads) {
    if (!run.loadResults.some((r) => r.name === load.spec.name)) run.loadResults.push((await load.result().catch(() => undefined)) ?? emptyLoadResult(load.spec.name));
  }
  for (const load of run.loads) {
    for (const point of load.series()) run.store.append(point.name, point.labels, point.t, point.v);
    load.close();
  }
  if (run.alerting) await stopAlerting(run, run.alerting);
  await run.scraper?.stop();
  await Promise.all(run.stops.map((stop) => stop()));
  await run.bpf?.stop().catch((error: unknown) => journal.cleanup.leftovers.push(`bpftrace: ${errorMessage(error)}`));
  if (run.bpf && journal.bpf.probes.includes('profile')) {
    const { samples, dropped } = run.bpf.profile();
    writeFileSync(join(run.runDir, PROFILE_FILE), samples.map((s) => JSON.stringify(s)).join('\n') + (samples.length ? '\n' : ''));
    journal.bpf.profile = { file: PROFILE_FILE, samples: samples.reduce((n, s) => n + s.count, 0), dropped };
  }
  if (run.otlp) {
    const otlp = run.otlp;
    otlp.spanSeries();
    journal.otlp = { url: otlp.url, spans: otlp.spans.length, errorSpans: otlp.spans.filter((s) => s.error).length, droppedSpans: otlp.droppedSpans, metricPoints: otlp.metricPoints };
    await otlp.close();
  }
  if (run.twin) {
    const twin = run.twin;
    await run.activity('twin-down', () => twin.down()).catch((error: unknown) => journal.cleanup.leftovers.push(`twin: ${errorMessage(error)}`));
  }
  if (!run.ledger.close()) {
    // whatever the orderly teardown missed, the ledger still lists: undo it from there
    const steps = await runCleanup(readLedgerFile(run.ledger.file), RESOURCE_HANDLERS);
    const left = steps.filter((s) => !s.ok);
    journal.cleanup.ok = left.length === 0;
    journal.cleanup.leftovers.push(...left.map((s) => `${s.key}: ${s.detail}`));
  }
}

function emptyLoadResult(name: string): LoadResult {
  return { name, requests: 0, errors: 0, availability: 0, byOp: {}, ackedWrites: 0, lostWrites: 0, lostKeys: [], indeterminateApplied: 0, scheduleLagP99Ms: 0, readBackError: 'the run ended before the read-back' };
}

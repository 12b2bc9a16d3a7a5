import { errorMessage } from '../core/errors.ts';
import type { FaultRecord } from '../core/journal.ts';
import type { FaultSpec } from '../core/scenario.ts';
import { formatMs, signedMs } from '../core/units.ts';
import { faultTypeOf, isVerifiable, type ActiveFault, type InjectionContext } from '../injectors/index.ts';
import { resolveTarget } from '../twin/index.ts';
import type { RunContext } from './context.ts';
import { ActuationLead } from './lead.ts';
import { runLengthMs } from './plan.ts';

/**
 * The faults on schedule, concurrently: each waits for its moment, is injected, verified beside
 * its window, and healed at its end. One fault that cannot be applied ends the run (the others
 * are cancelled and healed in teardown). Then the recovery window.
 */
export async function runFaults(run: RunContext): Promise<void> {
  const runEnd = runLengthMs(run.scenario);
  run.journal.runEndsAt = runEnd;
  const ticker = startTicker(run, runEnd);
  try {
    const leads = new Map<string, { inject: ActuationLead; heal: ActuationLead }>();
    const settled = await Promise.allSettled(run.scenario.faults.map((spec, faultIndex) => faultTask(run, spec, faultIndex, leads)));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    run.enter('recovery', `${formatMs(run.scenario.recoveryMs)} of observation after the last heal`);
    await run.sleepUntil(runEnd);
  } finally {
    await ticker();
  }
}

/** About once a second, a one-line state for people watching (a live status line on a terminal). */
function startTicker(run: RunContext, runEnd: number): () => Promise<void> {
  const stopped = new AbortController();
  const loop = (async () => {
    for (let t = 1000; !stopped.signal.aborted && t <= runEnd; t += 1000) {
      await run.clock.sleepUntil(t, stopped.signal);
      if (!stopped.signal.aborted) run.notify.tick(run.now(), tickState(run, runEnd));
    }
  })();
  return async () => {
    stopped.abort();
    await loop;
  };
}

function tickState(run: RunContext, runEnd: number): string {
  const t = run.now();
  const { scenario } = run;
  const active = run.journal.faults.filter((f) => f.appliedAt !== null && f.healedAt === null);
  if (active.length > 0) {
    return active.map((f) => {
      const spec = scenario.faults.find((s) => s.id === f.id)!;
      return `fault ${f.id} active on ${f.target}: ${Math.max(0, Math.ceil((f.appliedAt! + spec.durationMs - t) / 1000))} s left`;
    }).join('; ');
  }
  if (t < scenario.baseline.warmupMs) return `warm-up: ${Math.ceil((scenario.baseline.warmupMs - t) / 1000)} s until the first fault`;
  const next = scenario.faults.filter((f) => f.atMs > t).sort((a, b) => a.atMs - b.atMs)[0];
  if (next) return `steady: ${next.id} in ${Math.ceil((next.atMs - t) / 1000)} s`;
  return `recovery: run ends in ${Math.max(0, Math.ceil((runEnd - t) / 1000))} s`;
}

/** One fault from its schedule to its heal, with its record in the journal and its span in the trace. */
async function faultTask(run: RunContext, spec: FaultSpec, faultIndex: number, leads: Map<string, { inject: ActuationLead; heal: ActuationLead }>): Promise<void> {
  const type = faultTypeOf(spec);
  const twin = run.startedTwin;
  const fault: FaultRecord = {
    id: spec.id, type: spec.type, description: type.describe(spec), service: type.service(spec), target: null, hosts: [],
    scheduledAt: spec.atMs, appliedAt: null, healedAt: null, verified: { ok: false, evidence: [] }, recoveryMs: null,
  };
  run.journal.faults.push(fault);
  // leads are learnt per kind of action: a pause heals in microseconds, a kill's restart in seconds
  const key = type.actuationKey(spec);
  const lead = leads.get(key) ?? { inject: new ActuationLead(15), heal: new ActuationLead(25) };
  leads.set(key, lead);
  const injectLeadMs = lead.inject.leadMs;
  await run.sleepUntil(spec.atMs - injectLeadMs);
  // the first fault ends the warm-up: the journal says so before anything is injected
  if (run.journal.phase === 'warm-up') run.enter('faults', `${spec.id} first, ${run.scenario.faults.length} fault${run.scenario.faults.length === 1 ? '' : 's'} in all`);
  const context: InjectionContext = {
    runId: run.runId, twin, ledger: run.ledger, random: run.random, now: () => run.now(), faultIndex, intervalMs: run.scenario.observe.intervalMs,
    ...(run.bpf ? { bpf: run.bpf } : {}),
    resolve: (target, what, exclude) => resolveTarget(twin, target, run.random, what, exclude, (detail, waitedMs) => {
      fault.targetWaitMs = (fault.targetWaitMs ?? 0) + waitedMs;
      run.record('target-wait', detail);
    }),
  };
  const span = run.trace.start(`fault ${spec.id}`, { 'moat.fault.id': spec.id, 'moat.fault.type': spec.type, 'moat.fault.scheduled_at_ms': spec.atMs, 'moat.fault.duration_ms': spec.durationMs });
  run.faultSpans.set(spec.id, span);
  const injectStart = run.now();
  let injected: ActiveFault;
  try {
    injected = await run.activity(`inject ${spec.id}`, () => type.inject(spec, context), { output: (f) => ({ target: f.target }), parent: span });
  } catch (error) {
    fault.error = errorMessage(error);
    run.record('fault-failed', `${spec.id}: ${fault.error}`);
    run.stop(error);
    throw error;
  }
  const appliedAt = injected.appliedAt ?? run.now();
  lead.inject.observe(appliedAt - injectStart);
  fault.appliedAt = Math.round(appliedAt);
  fault.target = injected.target;
  fault.hosts = [...injected.hosts];
  run.active.set(spec.id, injected);
  run.record('fault-applied', `${spec.id} on ${injected.target} (${signedMs(appliedAt - spec.atMs)} from schedule)`);
  run.notify.phase('fault', `${spec.id} active on ${injected.target} for ${formatMs(spec.durationMs)}`);
  // verification runs beside the fault and never delays its heal
  const verification = isVerifiable(injected) ? (async () => {
    await run.sleepUntil(appliedAt + Math.min(3000, spec.durationMs / 3));
    const evidence = await run.activity(`verify ${spec.id}`, () => injected.verify(), { parent: span });
    fault.verified = { ok: evidence.length > 0 && evidence.every((e) => e.ok), evidence };
    run.record('fault-verified', `${spec.id}: ${fault.verified.ok ? 'took effect' : 'NOT verified'} (${evidence.filter((e) => e.ok).length}/${evidence.length} checks)`);
  })() : Promise.resolve();
  verification.catch(() => undefined);
  const healLeadMs = Math.min(lead.heal.leadMs, spec.durationMs / 4);
  await run.sleepUntil(appliedAt + spec.durationMs - healLeadMs);
  const healStart = run.now();
  await run.activity(`heal ${spec.id}`, () => injected.heal(), { parent: span });
  const healedAt = run.now();
  lead.heal.observe(healedAt - healStart);
  fault.healedAt = Math.round(healedAt);
  fault.actuation = { injectMs: Math.round(appliedAt - injectStart), injectLeadMs: Math.round(injectLeadMs), healMs: Math.round(healedAt - healStart), healLeadMs: Math.round(healLeadMs) };
  span.setAttributes({ 'moat.fault.target': injected.target, 'moat.fault.applied_at_ms': fault.appliedAt, 'moat.fault.healed_at_ms': fault.healedAt });
  run.active.delete(spec.id);
  run.record('fault-healed', `${spec.id} on ${injected.target}`);
  await verification;
  span.setAttribute('moat.fault.verified', fault.verified.ok);
  span.end();
}

import type { Activity, Journal } from '../core/journal.ts';

type CtkStatus = 'completed' | 'failed' | 'aborted' | 'interrupted';

interface CtkRun {
  activity: { type: 'action' | 'probe'; name: string; provider: { type: 'moat'; module: string } };
  output: unknown;
  status: 'succeeded' | 'failed';
  start: string;
  end: string;
  duration: number;
  exception?: string[];
}

/**
 * The journal in Chaos Toolkit's shape (chaostoolkit-lib's journal.json), so tools built for it
 * read moat runs: status, deviated, steady_states before/after, run (the method's activities) and
 * rollbacks (heals and teardown). The steady-state hypothesis is the scenario's gates; a completed
 * run whose gates fail has deviated, which Chaos Toolkit reports as status `failed`. A run that
 * failed before any fault was applied never got past its steady state: `aborted`.
 */
export function renderChaosToolkit(journal: Journal): object {
  const anyApplied = journal.faults.some((f) => f.appliedAt !== null);
  const gatesMet = journal.gates.every((g) => g.ok);
  const deviated = journal.status === 'completed' && !gatesMet;
  let status: CtkStatus;
  if (journal.status === 'interrupted') status = 'interrupted';
  else if (journal.status === 'failed' && !anyApplied) status = 'aborted';
  else if (journal.status !== 'completed' || deviated) status = 'failed';
  else status = 'completed';

  const isRollback = (a: Activity) => a.name.startsWith('heal ') || a.name === 'twin-down' || a.name === 'stop-load';
  const toRun = (a: Activity): CtkRun => ({
    activity: { type: a.name.startsWith('verify ') || a.name.startsWith('read-back') ? 'probe' : 'action', name: a.name, provider: { type: 'moat', module: activityModule(a.name) } },
    output: a.output ?? null,
    status: a.status,
    start: a.start,
    end: a.end,
    duration: a.durationMs / 1000,
    ...(a.error ? { exception: [a.error] } : {}),
  });
  const gateProbes = journal.gates.map((g) => ({
    activity: { type: 'probe', name: `${g.metric} ${g.threshold}`, tolerance: g.threshold, provider: { type: 'moat', module: 'gates' } },
    output: g.actual, status: 'succeeded', tolerance_met: g.ok,
  }));
  const twinUp = journal.activities.find((a) => a.name === 'twin-up');
  return {
    'chaoslib-version': null,
    moat: { version: journal.moatVersion, runId: journal.runId, seed: journal.seed, runDir: journal.runDir },
    platform: process.platform,
    node: null,
    experiment: {
      title: journal.scenarioName,
      description: journal.description ?? '',
      tags: ['moat'],
      'steady-state-hypothesis': { title: 'the scenario gates hold', probes: journal.gates.map((g) => ({ type: 'probe', name: `${g.metric} ${g.threshold}`, tolerance: g.threshold })) },
      method: journal.faults.map((f) => ({ type: 'action', name: `inject ${f.id}`, description: f.description })),
      rollbacks: journal.faults.map((f) => ({ type: 'action', name: `heal ${f.id}` })),
    },
    start: journal.startedAt,
    end: journal.endedAt,
    duration: journal.durationMs / 1000,
    status,
    deviated,
    steady_states: {
      before: { steady_state_met: twinUp?.status === 'succeeded', probes: twinUp ? [toRun(twinUp)] : [] },
      after: journal.status === 'completed' ? { steady_state_met: gatesMet, probes: gateProbes } : null,
      during: [],
    },
    run: journal.activities.filter((a) => !isRollback(a) && a.name !== 'twin-up').map(toRun),
    rollbacks: journal.activities.filter(isRollback).map(toRun),
  };
}

function activityModule(name: string): string {
  if (name.startsWith('inject') || name.startsWith('heal') || name.startsWith('verify')) return 'injectors';
  if (name.startsWith('twin')) return 'twin';
  if (name.startsWith('read-back') || name === 'stop-load') return 'load';
  return 'runner';
}

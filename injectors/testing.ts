import { tempDir, type Cleanup } from '../core/testing.ts';
import { randomBytes } from 'node:crypto';
import { ResourceLedger } from '../core/resources.ts';
import { SeededRandom } from '../core/random.ts';
import { twinUp, resolveTarget, type StartedTwin } from '../twin/index.ts';
import assert from 'node:assert/strict';
import { isVerifiable, type ActiveFault, type Evidence, type InjectionContext } from './types.ts';
import type { ServiceSpec } from '../core/scenario.ts';

/**
 * For injector tests: a real twin (by default a 3-member etcd cluster) in throw-away state and log
 * folders (removed when the test ends), and the injection context the run loop would give
 * (targeting and randomness from `seed`). Dispose of the twin with `await using`.
 */
export async function startTestTwin(t: Cleanup, seed = 1, services: ServiceSpec[] = [{ name: 'etcd', kind: 'etcd', replicas: 3, heartbeatMs: 100, electionMs: 1000, preVote: false }]): Promise<{ twin: StartedTwin; context: InjectionContext; random: SeededRandom; ledger: ResourceLedger; logDir: string }> {
  const runId = randomBytes(3).toString('hex');
  const ledger = ResourceLedger.open(runId, { stateDir: tempDir(t, 'state') });
  const logDir = tempDir(t, 'logs');
  const twin = await twinUp({ backend: 'netns', services }, { runId, ledger, logDir });
  const random = new SeededRandom(seed);
  const started = Date.now();
  const context: InjectionContext = {
    runId, twin, ledger, random, faultIndex: 0, intervalMs: 1000, now: () => Date.now() - started,
    resolve: (target, what, exclude) => resolveTarget(twin, target, random, what, exclude),
  };
  return { twin, context, random, ledger, logDir };
}

/** Verifies a fault, asserting that every check passed, and heals it whatever happened. */
export async function verifyThenHeal(fault: ActiveFault): Promise<Evidence[]> {
  try {
    assert.ok(isVerifiable(fault), 'the fault can be verified');
    const evidence = await fault.verify();
    assert.ok(evidence.length > 0 && evidence.every((e) => e.ok), JSON.stringify(evidence));
    return evidence;
  } finally {
    await fault.heal();
  }
}

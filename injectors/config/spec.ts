import * as z from 'zod';
import type { FaultTiming, ScenarioCheck } from '../../core/scenario.ts';
import { ledgerConfigPatchSchema } from '../../twin/index.ts';
import { faultTiming } from '../schema.ts';

/**
 * A configuration change pushed to a running app: the fields of `set` laid over the config it
 * reads from etcd, and the config it had written back on heal. The most common cause of real
 * incidents, and one no network or process fault imitates: nothing is cut, the app just behaves
 * differently. Apps that read their config from etcd take it (moat's ledger does).
 */
export type ConfigSpec = FaultTiming & { type: 'config'; app: string; set: z.output<typeof ledgerConfigPatchSchema> };

declare module '../../core/scenario.ts' {
  interface FaultSpecs {
    config: ConfigSpec;
  }
}

export const configSchema = z.strictObject({
  ...faultTiming, type: z.literal('config'),
  /** the app whose config changes (an app service with `app: ledger`) */
  app: z.string(),
  /** the fields to change, e.g. { breaker: { timeoutMs: 2 } } (ledger: memoryLimitMiB, breaker.errorRate, timeoutMs, sleepWindowMs, minRequests) */
  set: ledgerConfigPatchSchema,
});

export function buildConfig(document: z.output<typeof configSchema>, base: FaultTiming, path: readonly (string | number)[], check: ScenarioCheck): ConfigSpec {
  const apps = [...check.services.values()].filter((s) => s.kind === 'app' && (s as { app?: string }).app === 'ledger').map((s) => s.name);
  const target = check.services.get(document.app);
  if (!target || target.kind !== 'app') check.report([...path, 'app'], `expected an app service of the twin that reads its config from etcd (${apps.join(', ') || 'none: add an app service with app: ledger'}), saw ${JSON.stringify(document.app)}`);
  else if ((target as { app?: string }).app !== 'ledger') check.report([...path, 'app'], `${document.app} runs your own binary, which reads its own configuration: config faults apply to app: ledger so far`);
  const fields = (document.set.memoryLimitMiB === undefined ? 0 : 1) + Object.values(document.set.breaker ?? {}).filter((v) => v !== undefined).length;
  if (fields === 0) check.report([...path, 'set'], 'expected at least one field to change (memoryLimitMiB, breaker.errorRate, breaker.timeoutMs, breaker.sleepWindowMs, breaker.minRequests)');
  return { ...base, type: 'config', app: document.app, set: document.set };
}

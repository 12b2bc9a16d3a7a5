import { HealError, InjectionError, errorMessage } from '../../core/errors.ts';
import { formatMs, waitFor } from '../../core/units.ts';
import { AppService, configChanges, mergeConfig, type ConfigValue, type EtcdConfigKey } from '../../twin/index.ts';
import type { ActiveFault, Evidence, FaultType, InjectionContext, Verifiable } from '../types.ts';
import { buildConfig, configSchema, type ConfigSpec } from './spec.ts';

/** How long verification waits for the app to take the new config: the ledger reads it every 5 s. */
const APPLY_WAIT_MS = 12_000;

/**
 * A config push: reads the app's config key, writes it again with `set` laid over it, and on heal
 * writes back what was there. Verified by etcd (the key holds the new value) and by the app itself
 * (its `ledger_config_revision` gauge reaches the write's revision: the config is in force).
 */
export const configInjector: FaultType<ConfigSpec, import('zod').output<typeof configSchema>> = {
  type: 'config',
  schema: configSchema,
  build: buildConfig,
  service: (spec) => spec.app,
  actuationKey: (spec) => `config:${spec.app}`,

  describe(spec) {
    return `config ${spec.id}: ${spec.app}'s config ${flatten(spec.set).join(', ')}, at ${formatMs(spec.atMs)} for ${formatMs(spec.durationMs)}`;
  },

  async inject(spec, context) {
    const app = context.twin.of(spec.app, AppService);
    if (!app.config) throw new InjectionError(`config ${spec.id}: ${spec.app} does not read its config from etcd`);
    const before = await app.config.read().catch((error: unknown) => {
      throw new InjectionError(`config ${spec.id}: ${errorMessage(error)}`, { cause: error });
    });
    if (before.revision === 0) throw new InjectionError(`config ${spec.id}: ${spec.app}'s config key ${app.config.key} does not exist`);
    const fault = new ActiveConfig(spec, context, app, app.config, before);
    await fault.apply();
    return fault;
  },
};

/** `breaker.timeoutMs=2` for each field of a patch. */
function flatten(value: unknown, path = ''): string[] {
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : flatten(v, path ? `${path}.${k}` : k)));
  return [`${path}=${JSON.stringify(value)}`];
}

class ActiveConfig implements ActiveFault, Verifiable {
  readonly target: string;
  readonly hosts: readonly string[];
  readonly #spec: ConfigSpec;
  readonly #context: InjectionContext;
  readonly #app: AppService;
  readonly #key: EtcdConfigKey;
  readonly #before: ConfigValue;
  readonly #after: unknown;
  #revision = 0;
  #written = false;
  #healing: Promise<void> | undefined;

  constructor(spec: ConfigSpec, context: InjectionContext, app: AppService, key: EtcdConfigKey, before: ConfigValue) {
    this.#spec = spec;
    this.#context = context;
    this.#app = app;
    this.#key = key;
    this.#before = before;
    this.#after = mergeConfig(before.value, spec.set);
    this.target = `${spec.app} config (${key.key})`;
    this.hosts = app.members.map((m) => m.name);
  }

  async apply(): Promise<void> {
    // counted as written before the write: a heal after a write whose answer was lost still restores
    this.#written = true;
    try {
      this.#revision = await this.#key.write(this.#after);
    } catch (error) {
      await this.heal().catch(() => undefined);
      throw new InjectionError(`config ${this.#spec.id}: ${errorMessage(error)}`, { cause: error });
    }
  }

  heal(): Promise<void> {
    this.#healing ??= (async () => {
      if (!this.#written) return;
      try {
        await this.#key.write(this.#before.value);
      } catch (error) {
        throw new HealError(`config ${this.#spec.id}: could not write back ${this.#spec.app}'s config: ${errorMessage(error)}`, { cause: error });
      }
    })();
    return this.#healing;
  }

  /** etcd holds the new value at the write's revision, and the app has the config of that revision in force. */
  async verify(): Promise<Evidence[]> {
    const t = this.#context.now();
    const evidence: Evidence[] = [];
    try {
      const now = await this.#key.read();
      const differences = configChanges(this.#after, now.value);
      evidence.push({ t, kind: 'probe', ok: differences.length === 0 && now.revision >= this.#revision, detail: differences.length === 0 ? `etcd holds ${this.#key.key} as written (revision ${now.revision}): ${configChanges(this.#before.value, now.value).join(', ')}` : `etcd's ${this.#key.key} differs from the write: ${differences.join(', ')}` });
    } catch (error) {
      evidence.push({ t, kind: 'probe', ok: false, detail: errorMessage(error) });
    }
    let seen = Number.NaN;
    const inForce = await waitFor(`${this.#spec.app} config revision ${this.#revision}`, APPLY_WAIT_MS, async () => {
      seen = await configRevision(this.#app);
      return seen >= this.#revision ? seen : undefined;
    }, 250).then(() => true, () => false);
    evidence.push({ t: this.#context.now(), kind: 'probe', ok: inForce, detail: inForce ? `${this.#spec.app} has config revision ${seen} in force (ledger_config_revision), the write was ${this.#revision}` : `${this.#spec.app} did not take config revision ${this.#revision} within ${formatMs(APPLY_WAIT_MS)} (ledger_config_revision ${Number.isNaN(seen) ? 'not read' : seen})` });
    return evidence;
  }
}

/** The config revision the app says is in force, from its /metrics. */
async function configRevision(app: AppService): Promise<number> {
  try {
    const response = await fetch(`${app.url}/metrics`, { signal: AbortSignal.timeout(1000) });
    const match = /^ledger_config_revision (\S+)$/m.exec(await response.text());
    return match ? Number(match[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

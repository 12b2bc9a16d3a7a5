import { TwinError, errorMessage } from '../../../core/errors.ts';

/** What a config key holds at one moment: the parsed value (undefined: no key) and etcd's revision of its last write. */
export interface ConfigValue {
  value: unknown;
  /** etcd's mod_revision of the key (0: no key) */
  revision: number;
}

/** A config document larger than this is not one moat wrote. */
const MAX_CONFIG_BYTES = 64 * 1024;

/**
 * An app's configuration key in the twin's etcd, read and written through etcd's JSON gateway
 * straight to the members (not through the app's proxies: the twin's own bookkeeping is not under
 * test). Every call tries the members in turn, so one cut or paused member does not stop it.
 */
export class EtcdConfigKey {
  readonly key: string;
  /** `ip:port` of every etcd member */
  readonly endpoints: readonly string[];

  constructor(key: string, endpoints: readonly string[]) {
    this.key = key;
    this.endpoints = endpoints;
  }

  async read(timeoutMs = 1000): Promise<ConfigValue> {
    const out = await this.#call('range', { key: b64(this.key) }, timeoutMs) as { kvs?: { value?: string; mod_revision?: string }[] };
    const kv = out.kvs?.[0];
    if (!kv) return { value: undefined, revision: 0 };
    const raw = Buffer.from(kv.value ?? '', 'base64');
    if (raw.length > MAX_CONFIG_BYTES) throw new TwinError(`config ${this.key} holds ${raw.length} bytes (more than ${MAX_CONFIG_BYTES})`);
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      value = raw.toString('utf8');
    }
    return { value, revision: Number(kv.mod_revision ?? 0) };
  }

  /** Writes the value as JSON; resolves with the revision of the write. */
  async write(value: unknown, timeoutMs = 5000): Promise<number> {
    const out = await this.#call('put', { key: b64(this.key), value: b64(JSON.stringify(value)) }, timeoutMs) as { header?: { revision?: string } };
    return Number(out.header?.revision ?? 0);
  }

  async #call(op: 'range' | 'put', body: object, timeoutMs: number): Promise<unknown> {
    const failures: string[] = [];
    for (const endpoint of this.endpoints) {
      try {
        const response = await fetch(`http://${endpoint}/v3/kv/${op}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
        if (!response.ok) {
          failures.push(`${endpoint}: HTTP ${response.status}`);
          continue;
        }
        return await response.json();
      } catch (error) {
        failures.push(`${endpoint}: ${errorMessage(error)}`);
      }
    }
    throw new TwinError(`could not ${op === 'put' ? 'write' : 'read'} config ${this.key} in etcd (${failures.join('; ')})`);
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** A JSON object (not an array, not null): the values config documents nest. */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `a.b` paths whose values differ between two JSON values, e.g. `breaker.timeoutMs 200 -> 2`. */
export function configChanges(before: unknown, after: unknown, path = ''): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    const own = (o: Record<string, unknown>, k: string) => (Object.hasOwn(o, k) ? o[k] : undefined);
    return keys.flatMap((k) => configChanges(own(before, k), own(after, k), path ? `${path}.${k}` : k));
  }
  const text = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  return text(before) === text(after) ? [] : [`${path || '(whole value)'} ${text(before)} -> ${text(after)}`];
}

/** `base` with every field of `patch` laid over it (objects merged key by key, anything else replaced). */
export function mergeConfig(base: unknown, patch: unknown): unknown {
  if (!isObject(base) || !isObject(patch)) return patch === undefined ? base : patch;
  const merged: Record<string, unknown> = { ...base };
  // defined, not assigned: a key named __proto__ stays a key
  for (const [k, v] of Object.entries(patch)) Object.defineProperty(merged, k, { value: mergeConfig(Object.hasOwn(base, k) ? base[k] : undefined, v), enumerable: true, writable: true, configurable: true });
  return merged;
}

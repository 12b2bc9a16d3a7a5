import { HealError, InjectionError, errorMessage } from '../../core/errors.ts';
import { formatMs } from '../../core/units.ts';
import { AppService, type Link, type TwinBackend } from '../../twin/index.ts';
import type { ActiveFault, Evidence, FaultType, InjectionContext, Verifiable } from '../types.ts';
import { buildToxic, toxicSchema, type ToxicSpec } from './spec.ts';

/**
 * Toxiproxy toxics between an app and a service it depends on: the toxic goes on every proxy of
 * the link (one per member of the service), named after the run and the fault, so heal removes
 * exactly the toxics it added. `down` disables the proxies instead, and heal enables them.
 */
export const toxicInjector: FaultType<ToxicSpec, import('zod').output<typeof toxicSchema>> = {
  type: 'toxic',
  schema: toxicSchema,
  build: buildToxic,
  service: (spec) => spec.service,
  actuationKey: (spec) => `toxic:${spec.service}`,

  describe(spec) {
    const attributes = Object.entries(spec.attributes).map(([k, v]) => `${k}=${v}`).join(', ');
    const what = spec.toxic === 'down' ? 'proxies down' : `${spec.toxic}${attributes ? ` (${attributes})` : ''} ${spec.stream}${spec.toxicity < 1 ? `, toxicity ${spec.toxicity}` : ''}`;
    return `toxic ${spec.id}: ${what} on ${spec.app}->${spec.service}, at ${formatMs(spec.atMs)} for ${formatMs(spec.durationMs)}`;
  },

  async inject(spec, context) {
    const app = context.twin.of(spec.app, AppService);
    if (!app.toxiproxy) throw new InjectionError(`toxic ${spec.id}: ${spec.app} has no proxied links`);
    const links = app.linksTo(spec.service);
    if (links.length === 0) throw new InjectionError(`toxic ${spec.id}: ${spec.app} has no link to ${spec.service}`);
    const fault = new ActiveToxic(spec, context, app, links);
    await fault.apply();
    return fault;
  },
};

class ActiveToxic implements ActiveFault, Verifiable {
  readonly target: string;
  readonly hosts: readonly string[];
  readonly #spec: ToxicSpec;
  readonly #context: InjectionContext;
  readonly #app: AppService;
  readonly #links: Link[];
  readonly #name: string;
  readonly #applied: Link[] = [];
  #healing: Promise<void> | undefined;

  constructor(spec: ToxicSpec, context: InjectionContext, app: AppService, links: Link[]) {
    this.#spec = spec;
    this.#context = context;
    this.#app = app;
    this.#links = links;
    this.#name = `moat-${context.runId}-${spec.id}`;
    this.target = `${spec.app}->${spec.service} (${links.map((l) => l.proxy).join(', ')})`;
    this.hosts = [app.members[0]!.name, ...new Set(links.map((l) => l.member))];
  }

  async apply(): Promise<void> {
    const toxiproxy = this.#app.toxiproxy!;
    await Promise.all(this.#links.map(async (link) => {
      const proxy = await toxiproxy.get(link.proxy);
      // recorded before it exists: a heal after a half-applied fault still tries every proxy
      this.#applied.push(link);
      if (this.#spec.toxic === 'down') await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
      else await proxy.addToxic({ name: this.#name, type: this.#spec.toxic, stream: this.#spec.stream, toxicity: this.#spec.toxicity, attributes: this.#spec.attributes as never });
    })).catch(async (error: unknown) => {
      await this.heal().catch(() => undefined);
      throw new InjectionError(`toxic ${this.#spec.id}: ${errorMessage(error)}`, { cause: error });
    });
  }

  heal(): Promise<void> {
    this.#healing ??= (async () => {
      const toxiproxy = this.#app.toxiproxy!;
      const failures: string[] = [];
      await Promise.all(this.#applied.map(async (link) => {
        try {
          const proxy = await toxiproxy.get(link.proxy);
          if (this.#spec.toxic === 'down') {
            await proxy.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream });
            return;
          }
          // only the toxic this fault added; a missing one (never added, or gone) is already healed
          const toxic = await proxy.getToxic(this.#name).catch(() => undefined);
          await toxic?.remove();
        } catch (error) {
          failures.push(`${link.proxy}: ${errorMessage(error)}`);
        }
      }));
      if (failures.length > 0) throw new HealError(`toxic ${this.#spec.id}: ${failures.join('; ')}`);
    })();
    return this.#healing;
  }

  /**
   * Toxiproxy's own view (the toxic is on every proxy, or the proxies are disabled), and a probe
   * through the first proxy from inside the app's namespace: for latency, the round trip of a
   * request through it; for down, the connection must fail.
   */
  async verify(): Promise<Evidence[]> {
    const t = this.#context.now();
    const toxiproxy = this.#app.toxiproxy!;
    const evidence: Evidence[] = await Promise.all(this.#links.map(async (link): Promise<Evidence> => {
      try {
        const proxy = await toxiproxy.get(link.proxy);
        if (this.#spec.toxic === 'down') return { t, kind: 'probe', ok: !proxy.enabled, detail: `${link.proxy} ${proxy.enabled ? 'is still enabled' : 'is disabled'}` };
        const ours = await proxy.getToxic<Record<string, number>>(this.#name).catch(() => undefined);
        return { t, kind: 'probe', ok: ours !== undefined, detail: ours ? `${link.proxy} carries ${ours.type} ${JSON.stringify(ours.attributes)} ${ours.stream}` : `${link.proxy} does not carry ${this.#name}` };
      } catch (error) {
        return { t, kind: 'probe', ok: false, detail: `${link.proxy}: ${errorMessage(error)}` };
      }
    }));
    const probe = await this.#probe(this.#links[0]!);
    if (probe) evidence.push(probe);
    return evidence;
  }

  async #probe(link: Link): Promise<Evidence | undefined> {
    const t = this.#context.now();
    const network = this.#context.twin.backend;
    const host = this.#app.members[0]!.name;
    const [ip, port] = link.listen.split(':') as [string, string];
    if (this.#spec.toxic === 'down') {
      // a disabled proxy closes its listener: nothing accepts on the listen address
      const open = await network.canConnect(host, ip, Number(port), 500);
      return { t, kind: 'probe', ok: !open, detail: `${host} -> ${link.listen} ${open ? 'still connects' : 'refused'} (the proxy is down)` };
    }
    if (this.#spec.toxic !== 'latency' || this.#spec.toxicity < 1) return undefined;
    const expected = this.#spec.attributes.latency ?? 0;
    // the Toxiproxy listener is on the app's loopback; time a redis PING or a TCP round trip through it
    const rtt = await roundTripThrough(network, host, link);
    if (rtt === undefined) return { t, kind: 'probe', ok: false, detail: `no round trip through ${link.proxy}` };
    const jitter = this.#spec.attributes.jitter ?? 0;
    const ok = rtt >= expected - jitter - 5;
    return { t, kind: 'probe', ok, detail: `round trip through ${link.proxy}: ${rtt.toFixed(0)} ms (toxic adds ${expected} ms${jitter ? ` +/- ${jitter}` : ''} ${this.#spec.stream})` };
  }
}

/** Times one request/answer through a link from inside the app's namespace (a redis PING or an etcd GET /health). */
async function roundTripThrough(network: TwinBackend, host: string, link: Link): Promise<number | undefined> {
  const [ip, port] = link.listen.split(':') as [string, string];
  const request = link.kind === 'redis' ? 'PING\\r\\n' : `GET /health HTTP/1.0\\r\\nHost: ${ip}\\r\\n\\r\\n`;
  // bash in the app's namespace: open, send, read one chunk; date gives ns timestamps
  const script = `exec 3<>/dev/tcp/${ip}/${port} || exit 1; s=$(date +%s%N); printf '${request}' >&3; read -r -t 5 line <&3 || exit 2; e=$(date +%s%N); echo $(( (e - s) / 1000 ))`;
  const result = await network.exec(host, 'bash', ['-c', script], { allowFailure: true, timeoutMs: 8000 });
  const micros = Number(result.stdout.trim());
  return result.code === 0 && Number.isFinite(micros) ? micros / 1000 : undefined;
}


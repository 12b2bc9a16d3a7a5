import { HealError, InjectionError, errorMessage } from '../../core/errors.ts';
import { formatMs, sleep } from '../../core/units.ts';
import type { ManagedProcess } from '../../twin/index.ts';
import type { ActiveFault, Evidence, FaultType, InjectionContext, Verifiable } from '../types.ts';
import { buildProcess, processSchema, type ProcessSpec } from './spec.ts';

/**
 * Process faults on any twin service:
 * - kill: SIGKILL, then (with `restart`, the default) the process is started again when the fault
 *   heals, with its data and command line, and heal waits until it is healthy;
 * - pause: SIGSTOP, and SIGCONT when the fault heals.
 * A paused or killed process that moat never got to heal dies with its namespace in cleanup.
 */
export const processInjector: FaultType<ProcessSpec, import('zod').output<typeof processSchema>> = {
  type: 'process',
  schema: processSchema,
  build: buildProcess,
  service: (spec) => spec.target.service,
  // a pause lands at once; a kill's heal restarts the process and waits for it
  actuationKey: (spec) => `process:${spec.action}`,

  describe(spec) {
    const what = spec.action === 'kill' ? `kill -9 ${spec.target.source}${spec.restart ? ', restarted when healed' : ' (not restarted)'}` : `pause ${spec.target.source} (SIGSTOP, SIGCONT when healed)`;
    return `process ${spec.id}: ${what}, at ${formatMs(spec.atMs)} for ${formatMs(spec.durationMs)}`;
  },

  async inject(spec, context) {
    const target = await context.resolve(spec.target, `${spec.id}.target`);
    const service = context.twin.service(spec.target.service);
    const member = service.member(target.host);
    const victim = member.process;
    if (victim.state() === 'gone') throw new InjectionError(`process ${spec.id}: ${target.host} (pid ${victim.pid}) is not running`);
    try {
      if (spec.action === 'kill') {
        victim.stopping = true; // its exit is the fault, not a crash
        await victim.signal('SIGKILL');
      } else {
        await victim.signal('SIGSTOP');
      }
    } catch (error) {
      throw new InjectionError(`process ${spec.id}: could not signal ${target.host} (pid ${victim.pid}): ${errorMessage(error)}`, { cause: error });
    }
    return new ActiveProcessFault(spec, context, target.label, target.host, victim);
  },
};

class ActiveProcessFault implements ActiveFault, Verifiable {
  readonly target: string;
  readonly hosts: readonly string[];
  readonly #spec: ProcessSpec;
  readonly #context: InjectionContext;
  readonly #victim: ManagedProcess;
  #healing: Promise<void> | undefined;

  constructor(spec: ProcessSpec, context: InjectionContext, label: string, host: string, victim: ManagedProcess) {
    this.#spec = spec;
    this.#context = context;
    this.target = label;
    this.hosts = [host];
    this.#victim = victim;
  }

  heal(): Promise<void> {
    this.#healing ??= this.#heal();
    return this.#healing;
  }

  async #heal(): Promise<void> {
    const service = this.#context.twin.service(this.#spec.target.service);
    const host = this.hosts[0]!;
    try {
      if (this.#spec.action === 'pause') {
        if (this.#victim.state() !== 'gone') await this.#victim.signal('SIGCONT');
        return;
      }
      if (!this.#spec.restart) return;
      await service.member(host).process.exited;
      await service.restartMember(host);
    } catch (error) {
      throw new HealError(`process ${this.#spec.id}: ${host} could not be ${this.#spec.action === 'pause' ? 'resumed' : 'restarted'}: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** The kernel's own view of the process: gone (killed) or stopped (state T). */
  async verify(): Promise<Evidence[]> {
    const t = this.#context.now();
    const pid = this.#victim.pid;
    let state = this.#victim.state();
    // a group stop is asynchronous: every thread stops when it next runs; give it up to a second
    for (let i = 0; i < 20 && this.#spec.action === 'pause' && state === 'running'; i++) {
      await sleep(50);
      state = this.#victim.state();
    }
    const host = this.hosts[0]!;
    if (this.#spec.action === 'kill') {
      const gone = state === 'gone';
      return [{ t, kind: 'probe', ok: gone, detail: gone ? `${host} (pid ${pid}) is gone` : `${host} (pid ${pid}) is still ${state}` }];
    }
    const stopped = state === 'stopped';
    const evidence: Evidence[] = [{ t, kind: 'probe', ok: stopped, detail: stopped ? `${host} (pid ${pid}) is stopped (state T)` : `${host} (pid ${pid}) is not stopped (${state})` }];
    const service = this.#context.twin.service(this.#spec.target.service);
    const answered = await service.healthy(host, 500);
    evidence.push({ t, kind: 'probe', ok: !answered, detail: answered ? `${host} still answered ${service.healthCheck}` : `${host} did not answer ${service.healthCheck} within 500 ms` });
    return evidence;
  }
}

import { HealError, InjectionError, errorMessage } from '../../core/errors.ts';
import { formatMs, sleep } from '../../core/units.ts';
import { procStat } from '../../core/proc.ts';
import type { ProcessSpec } from '../../runner/scenario/index.ts';
import type { ActiveFault, Evidence, InjectionContext, Injector, Verifiable } from '../types.ts';

function processState(pid: number): string | undefined {
  return procStat(pid)?.state;
}

/**
 * Process faults on any twin service:
 * - kill: SIGKILL, then (with `restart`, the default) the process is started again when the fault
 *   heals, with its data and command line, and heal waits until it is healthy;
 * - pause: SIGSTOP, and SIGCONT when the fault heals.
 * A paused or killed process that moat never got to heal dies with its namespace in cleanup.
 */
export const processInjector: Injector<ProcessSpec> = {
  type: 'process',

  describe(spec) {
    const what = spec.action === 'kill' ? `kill -9 ${spec.target.source}${spec.restart ? ', restarted when healed' : ' (not restarted)'}` : `pause ${spec.target.source} (SIGSTOP, SIGCONT when healed)`;
    return `process ${spec.id}: ${what}, at ${formatMs(spec.atMs)} for ${formatMs(spec.durationMs)}`;
  },

  async inject(spec, context) {
    const target = await context.resolve(spec.target, `${spec.id}.target`);
    const service = context.twin.service(spec.target.service);
    const member = service.member(target.host);
    const pid = member.process.pid;
    if (processState(pid) === undefined) throw new InjectionError(`process ${spec.id}: ${target.host} (pid ${pid}) is not running`);
    try {
      if (spec.action === 'kill') {
        member.process.stopping = true; // its exit is the fault, not a crash
        process.kill(pid, 'SIGKILL');
      } else {
        process.kill(pid, 'SIGSTOP');
      }
    } catch (error) {
      throw new InjectionError(`process ${spec.id}: could not signal ${target.host} (pid ${pid}): ${errorMessage(error)}`, { cause: error });
    }
    return new ActiveProcessFault(spec, context, target.label, target.host, pid);
  },
};

class ActiveProcessFault implements ActiveFault, Verifiable {
  readonly target: string;
  readonly hosts: readonly string[];
  readonly #spec: ProcessSpec;
  readonly #context: InjectionContext;
  readonly #pid: number;
  #healing: Promise<void> | undefined;

  constructor(spec: ProcessSpec, context: InjectionContext, label: string, host: string, pid: number) {
    this.#spec = spec;
    this.#context = context;
    this.target = label;
    this.hosts = [host];
    this.#pid = pid;
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
        if (processState(this.#pid) !== undefined) process.kill(this.#pid, 'SIGCONT');
        return;
      }
      if (!this.#spec.restart) return;
      await service.member(host).process.exited;
      await service.restartMember(host);
    } catch (error) {
      throw new HealError(`process ${this.#spec.id}: ${host} could not be ${this.#spec.action === 'pause' ? 'resumed' : 'restarted'}: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** The kernel's own view of the process: gone (killed) or in state T (stopped). */
  async verify(): Promise<Evidence[]> {
    const t = this.#context.now();
    let state = processState(this.#pid);
    // a group stop is asynchronous: every thread stops when it next runs; give it a moment
    for (let i = 0; i < 20 && this.#spec.action === 'pause' && state !== 'T' && state !== 't' && state !== undefined; i++) {
      await sleep(50);
      state = processState(this.#pid);
    }
    const host = this.hosts[0]!;
    if (this.#spec.action === 'kill') {
      const gone = state === undefined || state === 'Z';
      return [{ t, kind: 'probe', ok: gone, detail: gone ? `${host} (pid ${this.#pid}) is gone` : `${host} (pid ${this.#pid}) is still running (state ${state})` }];
    }
    const stopped = state === 'T' || state === 't';
    const evidence: Evidence[] = [{ t, kind: 'probe', ok: stopped, detail: stopped ? `${host} (pid ${this.#pid}) is stopped (state T)` : `${host} (pid ${this.#pid}) is not stopped (state ${state ?? 'gone'})` }];
    const service = this.#context.twin.service(this.#spec.target.service);
    const answered = await service.healthy(host, 500);
    const check = service.spec.kind === 'kafka' ? 'a Kafka ApiVersions request' : '/health';
    evidence.push({ t, kind: 'probe', ok: !answered, detail: answered ? `${host} still answered ${check}` : `${host} did not answer ${check} within 500 ms` });
    return evidence;
  }
}

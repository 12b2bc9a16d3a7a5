import { MoatError } from './errors.ts';
/**
 * Seeded randomness. Every random choice a run makes comes from one of these,
 * and is recorded in the journal so the run can be replayed from its seed.
 */
export interface RandomChoice {
  /** What was chosen, e.g. `faults[0].target`. */
  what: string;
  options: string[];
  chosen: string;
}

export class SeededRandom {
  #state: number;
  readonly choices: RandomChoice[] = [];

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** mulberry32: small, fast, and good enough for choosing victims and jitter. */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  pick<T extends string>(what: string, options: readonly T[]): T {
    if (options.length === 0) throw new MoatError(`no options to choose ${what} from`);
    const chosen = options[Math.floor(this.next() * options.length)]!;
    this.choices.push({ what, options: [...options], chosen });
    return chosen;
  }
}

import { closeSync, openSync, readFileSync, readSync, readlinkSync } from 'node:fs';
import { goFunctions } from './gopclntab.ts';

/**
 * Names the addresses of a running process' user stack from its binary's `.gopclntab` (which Go
 * keeps in stripped binaries): the function whose entry is the last one at or below the address.
 * A position-independent binary is shifted by its load address from /proc/<pid>/maps. A process
 * that is not a Go binary keeps hex addresses.
 */
export class StackSymbolizer {
  readonly #byPid = new Map<number, ((address: number) => string) | null>();
  readonly #byBinary = new Map<string, { entries: Float64Array; names: string[] } | null>();

  #table(binary: string): { entries: Float64Array; names: string[] } | null {
    if (!this.#byBinary.has(binary)) {
      try {
        const functions = goFunctions(binary).sort((a, b) => a.address - b.address);
        this.#byBinary.set(binary, { entries: Float64Array.from(functions, (f) => f.address), names: functions.map((f) => f.name) });
      } catch {
        this.#byBinary.set(binary, null);
      }
    }
    return this.#byBinary.get(binary)!;
  }

  #forPid(pid: number): ((address: number) => string) | null {
    if (this.#byPid.has(pid)) return this.#byPid.get(pid)!;
    let lookup: ((address: number) => string) | null = null;
    try {
      const binary = readlinkSync(`/proc/${pid}/exe`);
      const table = this.#table(binary);
      if (table) {
        const elf = Buffer.alloc(0x12);
        const fd = openSync(binary, 'r');
        try {
          readSync(fd, elf, 0, elf.length, 0);
        } finally {
          closeSync(fd);
        }
        // ET_DYN: position-independent, loaded at the start of its first mapping
        const pie = elf.readUInt16LE(0x10) === 3;
        const base = pie ? parseInt(readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').find((l) => l.endsWith(binary))?.split('-')[0] ?? '0', 16) : 0;
        lookup = (address) => {
          const pc = address - base;
          let lo = 0;
          let hi = table.entries.length - 1;
          if (hi < 0 || pc < table.entries[0]!) return `0x${address.toString(16)}`;
          while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (table.entries[mid]! <= pc) lo = mid;
            else hi = mid - 1;
          }
          return table.names[lo]!;
        };
      }
    } catch {
      lookup = null;
    }
    this.#byPid.set(pid, lookup);
    return lookup;
  }

  /** Names each address of a stack of `pid` (leaf first in, root first out). */
  frames(pid: number, addresses: readonly number[]): string[] {
    const lookup = this.#forPid(pid);
    return addresses.map((a) => (lookup ? lookup(a) : `0x${a.toString(16)}`)).reverse();
  }
}

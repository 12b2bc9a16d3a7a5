import { MoatError } from '../core/errors.ts';
import { readFileSync } from 'node:fs';

/**
 * Function entry addresses of a Go binary from its `.gopclntab` section, which Go keeps even in
 * stripped binaries (Debian's etcd is one): uprobes on Go functions need these addresses when
 * there is no symbol table. Reads 64-bit little-endian ELF files and the pclntab layout of
 * Go 1.18 and later (magic 0xfffffff0 for 1.18-1.19, 0xfffffff1 from 1.20); the runtime's
 * symtab.go describes the format.
 */
export interface GoFunction {
  name: string;
  /** virtual address of the function's entry */
  address: number;
  /** offset of the entry in the file, for tools that probe by file offset */
  fileOffset: number;
}

interface Section {
  name: string;
  addr: number;
  offset: number;
  size: number;
}

function sections(elf: Buffer): Section[] {
  if (elf.readUInt32BE(0) !== 0x7f454c46) throw new MoatError('not an ELF file');
  if (elf[4] !== 2 || elf[5] !== 1) throw new MoatError('only 64-bit little-endian ELF binaries are supported');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return { nameOffset: elf.readUInt32LE(at), addr: Number(elf.readBigUInt64LE(at + 0x10)), offset: Number(elf.readBigUInt64LE(at + 0x18)), size: Number(elf.readBigUInt64LE(at + 0x20)) };
  });
  const names = raw[shstrndx];
  if (!names) throw new MoatError('ELF file has no section name table');
  return raw.map((s) => ({ name: cString(elf, names.offset + s.nameOffset), addr: s.addr, offset: s.offset, size: s.size }));
}

function cString(buffer: Buffer, at: number): string {
  const end = buffer.indexOf(0, at);
  return buffer.toString('latin1', at, end < 0 ? buffer.length : end);
}

/** Whether the binary still has its ELF symbol table (not stripped). */
export function hasSymbols(file: string): boolean {
  return sections(readFileSync(file)).some((s) => s.name === '.symtab');
}

/**
 * The address bpftrace 0.17 wants in `uprobe:BINARY:ADDRESS`: the virtual address when the binary
 * has symbols to check it against, the file offset when it is stripped (then with --unsafe,
 * which is sound here: pclntab entries are function entries, so instruction boundaries).
 */
export function uprobeAddress(fn: GoFunction, stripped: boolean): string {
  return `0x${(stripped ? fn.fileOffset : fn.address).toString(16)}`;
}

/** Every function in the binary's pclntab, or only those named. */
export function goFunctions(file: string, only?: ReadonlySet<string>): GoFunction[] {
  const elf = readFileSync(file);
  const all = sections(elf);
  const pclntab = all.find((s) => s.name === '.gopclntab');
  if (!pclntab) throw new MoatError(`${file} has no .gopclntab section: not a Go binary, or one this reader does not know`);
  const tab = elf.subarray(pclntab.offset, pclntab.offset + pclntab.size);
  const magic = tab.readUInt32LE(0);
  if (magic !== 0xfffffff0 && magic !== 0xfffffff1) throw new MoatError(`${file}: pclntab magic 0x${magic.toString(16)} is not Go 1.18 or later (0xfffffff0, 0xfffffff1)`);
  const ptrSize = tab[7]!;
  if (ptrSize !== 8) throw new MoatError(`${file}: pointer size ${ptrSize}, only 64-bit binaries are supported`);
  const word = (i: number) => Number(tab.readBigUInt64LE(8 + i * 8));
  const nfunc = word(0);
  // newer linkers leave textStart zero: entries are then relative to the .text section
  const textStart = word(2) || (all.find((s) => s.name === '.text')?.addr ?? 0);
  const funcnameOffset = word(3);
  const pclnOffset = word(7);
  const loadable = all.filter((s) => s.addr > 0 && s.size > 0);
  const toFileOffset = (address: number) => {
    const section = loadable.find((s) => address >= s.addr && address < s.addr + s.size);
    return section ? address - section.addr + section.offset : -1;
  };
  const functions: GoFunction[] = [];
  for (let i = 0; i < nfunc; i++) {
    const entry = pclnOffset + i * 8;
    const entryOff = tab.readUInt32LE(entry);
    const funcOff = tab.readUInt32LE(entry + 4);
    const nameOff = tab.readInt32LE(pclnOffset + funcOff + 4);
    const name = cString(tab, funcnameOffset + nameOff);
    if (only && !only.has(name)) continue;
    const address = textStart + entryOff;
    functions.push({ name, address, fileOffset: toFileOffset(address) });
  }
  return functions;
}

import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readSync, writeSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { InvalidInputError } from './errors.ts';

/** A file moat was asked to read or write that it refuses: not a regular file, too big, or outside where it belongs. */
export class UnsafeFileError extends InvalidInputError {
  override name = 'UnsafeFileError';
}

/**
 * Reads a regular file of at most `maxBytes`. A FIFO, a device (`/dev/zero`), a folder or a
 * symbolic link is refused before a byte is read, and so is a file that grows past the cap while
 * it is read. The message names the file and the limit, never its content.
 */
export function readRegularFile(file: string, maxBytes: number): string {
  let stat;
  try {
    stat = lstatSync(file);
  } catch (error) {
    throw new UnsafeFileError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (stat.isSymbolicLink()) throw new UnsafeFileError(`${file} is a symbolic link: name the file itself`);
  if (!stat.isFile()) throw new UnsafeFileError(`${file} is not a regular file`);
  if (stat.size > maxBytes) throw new UnsafeFileError(`${file} has ${stat.size} bytes, more than the limit of ${maxBytes}`);
  // O_NOFOLLOW | O_NONBLOCK: a link swapped in after the check is refused, a FIFO never blocks
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw new UnsafeFileError(`${file} is not a regular file`);
    // one byte more than the file has: a file that grew since is caught by the cap below
    const buffer = Buffer.alloc(Math.min(opened.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length >= buffer.length) throw new UnsafeFileError(`${file} changed while it was read, or has more than the limit of ${maxBytes} bytes`);
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file without following a symbolic link at its path: a report written into a run folder
 * that someone else unpacked must not land wherever a planted link points.
 */
export function writeFileNoFollow(file: string, data: string | Uint8Array): void {
  let fd: number;
  try {
    // no O_TRUNC yet: nothing is cut short before the checks below
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UnsafeFileError(`${file} is a symbolic link: refusing to write through it`);
    if (code === 'ENXIO') throw new UnsafeFileError(`${file} is not a regular file: refusing to write to it`);
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UnsafeFileError(`${file} is not a regular file: refusing to write to it`);
    // a second name for the same file (a hard link) may be anywhere: writing would change it there too
    if (stat.nlink > 1) throw new UnsafeFileError(`${file} has ${stat.nlink} hard links: refusing to write to it`);
    ftruncateSync(fd, 0);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  } finally {
    closeSync(fd);
  }
}

/** Whether `path` (resolved against `base`) stays inside `base`. */
export function isInside(base: string, path: string): boolean {
  const rel = relative(resolve(base), resolve(base, path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

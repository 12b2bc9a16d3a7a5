import { readRegularFile } from './files.ts';

/**
 * On-CPU samples of one twin host's process over one bucket of time: a stack, root first, named
 * from the binary's `.gopclntab` (hex addresses where it has none), and how many samples had it.
 * Written by the `profile` eBPF probe to `bpf/profile.jsonl`.
 */
export interface ProfileSample {
  host: string;
  /** start of the bucket, ms on the run clock */
  t: number;
  frames: string[];
  count: number;
}

export const PROFILE_FILE = 'bpf/profile.jsonl';
/** The bucket samples are summed over. */
export const PROFILE_BUCKET_MS = 5000;
/** A profile larger than this is not one moat wrote (the observer caps what it keeps). */
export const MAX_PROFILE_BYTES = 64 * 1024 * 1024;

/** Reads `bpf/profile.jsonl`; lines that are not samples are skipped. */
export function readProfileFile(file: string): ProfileSample[] {
  const samples: ProfileSample[] = [];
  for (const line of readRegularFile(file, MAX_PROFILE_BYTES).split('\n')) {
    if (!line.trim()) continue;
    try {
      const s = JSON.parse(line) as ProfileSample;
      if (typeof s.host === 'string' && Number.isFinite(s.t) && Array.isArray(s.frames) && Number.isFinite(s.count)) samples.push({ host: s.host, t: s.t, frames: s.frames.map(String), count: s.count });
    } catch {
      // a torn last line of a killed run
    }
  }
  return samples;
}

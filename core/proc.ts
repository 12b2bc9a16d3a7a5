import { readFileSync } from 'node:fs';

/**
 * What /proc/PID/stat says of a process: its one-letter state (R, S, T stopped, Z zombie, ...)
 * and its start time in clock ticks (field 22), which tells a pid from its reuse. Undefined when
 * the process is gone.
 */
export function procStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, startTime: fields[19]! };
  } catch {
    return undefined;
  }
}

import { readFileSync } from 'node:fs';

/**
 * What /proc/PID/stat says of a process: its one-letter state (R, S, T stopped, Z zombie, ...),
 * its parent (field 4) and its start time in clock ticks (field 22), which tells a pid from its
 * reuse. Undefined when the process is gone; also whether it is exiting or a kernel thread
 * (field 9, flags).
 */
export function procStat(pid: number): { state: string; ppid: number; startTime: string; exiting: boolean; kernelThread: boolean } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const flags = Number(fields[6]);
    // PF_EXITING (0x4): the process is on its way out (its command line already reads empty);
    // PF_KTHREAD (0x200000): a kernel thread, never one of moat's
    return { state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]!, exiting: (flags & 0x4) !== 0, kernelThread: (flags & 0x200000) !== 0 };
  } catch {
    return undefined;
  }
}

import type { RunContext } from '../context.ts';
import { collectVersions } from '../versions.ts';

/** Builds the twin; every process that exits without being asked to is an event on the timeline. */
export async function startTwin(run: RunContext): Promise<void> {
  run.journal.versions = await collectVersions(run.scenario);
  const twin = await run.activity('twin-up', () => run.twinUp(run.scenario.twin, { runId: run.runId, ledger: run.ledger, logDir: run.logDir, log: (line) => run.notify.note(line) }), {
    // each host's address, and its CPU and memory limits as the kernel holds them
    output: (t) => ({ hosts: [...t.hosts.values()].map((h) => ({ name: h.name, ip: h.ip, ...(t.backend.resources(h.name) ? { limits: t.backend.resources(h.name)!.readBack() } : {}) })) }),
  });
  run.twin = twin;
  run.checkAbort();
  for (const process of twin.backend.processes) {
    void process.exited.then((code) => {
      if (!process.stopping) run.record('process-exit', `${process.name} exited unexpectedly with ${code} (log: ${process.logFile})`);
    });
  }
}

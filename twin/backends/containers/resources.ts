import { TwinError, errorMessage } from '../../../core/errors.ts';
import type { Resource, ResourceHandler } from '../../../core/resources.ts';
import { engine, RUN_LABEL } from './engine.ts';

/**
 * The containers backend's resources, for `moat cleanup`: containers `moat-<id>-*` and the network
 * `moat-<id>`. A name without the run id is refused; one that carries it but whose engine object
 * lacks the run's label (someone else's, named alike) is refused too, never removed.
 */
const runName = (runId: string) => new RegExp(`^moat-${runId}-[a-z0-9][a-z0-9.-]*$`);

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

export const containerHandler: ResourceHandler<Extract<Resource, { kind: 'container' }>> = {
  kind: 'container',
  check: (resource, runId) => (typeof resource.name === 'string' && runName(runId).test(resource.name) ? undefined : `container ${JSON.stringify(resource.name)} is not one of run ${runId}`),
  describe: (resource) => `remove the container ${resource.name} (killing what runs in it)`,
  async undo(resource, runId) {
    const docker = (await engine()).container.dockerode;
    const container = docker.getContainer(resource.name);
    let labels: Record<string, string>;
    try {
      labels = (await container.inspect()).Config.Labels ?? {};
    } catch (error) {
      if (statusOf(error) === 404) return 'already gone';
      throw error;
    }
    if (labels[RUN_LABEL] !== runId) throw new TwinError(`container ${resource.name} does not carry ${RUN_LABEL}=${runId}: not moat's to remove`);
    try {
      await container.remove({ force: true });
    } catch (error) {
      if (statusOf(error) === 404) return 'already gone';
      throw new TwinError(`could not remove container ${resource.name}: ${errorMessage(error)}`, { cause: error });
    }
    return 'removed';
  },
};

export const networkHandler: ResourceHandler<Extract<Resource, { kind: 'network' }>> = {
  kind: 'network',
  check: (resource, runId) => (resource.name === `moat-${runId}` ? undefined : `network ${JSON.stringify(resource.name)} is not the one of run ${runId}`),
  describe: (resource) => `remove the container network ${resource.name}`,
  async undo(resource, runId) {
    const docker = (await engine()).container.dockerode;
    const network = docker.getNetwork(resource.name);
    let labels: Record<string, string>;
    try {
      labels = ((await network.inspect()) as { Labels?: Record<string, string> }).Labels ?? {};
    } catch (error) {
      if (statusOf(error) === 404) return 'already gone';
      throw error;
    }
    if (labels[RUN_LABEL] !== runId) throw new TwinError(`network ${resource.name} does not carry ${RUN_LABEL}=${runId}: not moat's to remove`);
    // containers of the run still attached (killed before they were removed) go first
    const attached = await docker.listContainers({ all: true, filters: JSON.stringify({ network: [resource.name], label: [`${RUN_LABEL}=${runId}`] }) });
    await Promise.all(attached.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    await network.remove();
    return 'removed';
  },
};

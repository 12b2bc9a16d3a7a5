import { parseArgs } from 'node:util';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { InvalidInputError } from '../core/errors.ts';
import { readRegularFile } from '../core/files.ts';
import { loadScenarioFile } from '../runner/index.ts';
import { crdSchemas, exportChaosMesh, validate } from '../export/index.ts';

/** A CRD file larger than this is not one (Chaos Mesh's largest, the Schedule, is 0.9 MB). */
const MAX_CRD_BYTES = 16 * 1024 * 1024;

/**
 * `moat export chaos-mesh <scenario>`: the scenario's faults as a Chaos Mesh Workflow on stdout
 * (YAML), with what could not be mapped in its header. `--crds DIR` checks it against the
 * cluster's own CustomResourceDefinitions first (exit 2 on a mismatch).
 */
export async function exportCommand(args: string[]): Promise<number> {
  const [target, ...rest] = args;
  if (target !== 'chaos-mesh') throw new InvalidInputError(`moat export: expected "chaos-mesh", saw ${JSON.stringify(target ?? '')}`);
  const { values, positionals } = parseArgs({
    args: rest, allowPositionals: true, strict: true,
    options: { namespace: { type: 'string', default: 'default' }, 'label-key': { type: 'string', default: 'app.kubernetes.io/name' }, crds: { type: 'string' }, 'allow-outside-paths': { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new InvalidInputError('moat export chaos-mesh: expected one scenario file');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(values.namespace)) throw new InvalidInputError(`moat export chaos-mesh: --namespace expects a Kubernetes namespace name, saw ${JSON.stringify(values.namespace)}`);
  const scenario = await loadScenarioFile(positionals[0]!, { allowOutsidePaths: values['allow-outside-paths'] });
  const exported = exportChaosMesh(scenario, { namespace: values.namespace, labelKey: values['label-key'] });
  if (values.crds) {
    const schemas = new Map(readdirSync(values.crds).filter((f) => /\.ya?ml$/.test(f)).flatMap((f) => [...crdSchemas(readRegularFile(join(values.crds!, f), MAX_CRD_BYTES))]));
    const schema = schemas.get('Workflow');
    if (!schema) throw new InvalidInputError(`moat export chaos-mesh: no Workflow CRD in ${values.crds}`);
    const problems = validate(exported.workflow, schema);
    if (problems.length > 0) throw new InvalidInputError(`moat export chaos-mesh: the Workflow does not match ${values.crds}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  const header = [
    `# ${scenario.name} as a Chaos Mesh Workflow (moat export chaos-mesh). Pods are chosen by the label`,
    `# ${values['label-key']}=<service> in namespace ${values.namespace}; member <service>-n is pod <service>-(n-1).`,
    '# Verification, TTD and localization scoring stay with moat (reading the cluster\'s Prometheus).',
    ...exported.approximated.map((a) => `# approximated ${a.id}: ${a.note}`),
    ...exported.skipped.map((s) => `# not exported ${s.id}: ${s.reason}`),
  ];
  process.stdout.write(`${header.join('\n')}\n${stringify(exported.workflow, { lineWidth: 0 })}`);
  return 0;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadScenarioFile, parseScenario } from '../runner/index.ts';
import { crdSchemas, exportChaosMesh, validate, type OpenApiSchema } from '../export/index.ts';

/**
 * Chaos Mesh's published CRDs, unchanged, kept beside the project as test data
 * (`../shared/fixtures/chaos-mesh`, with their licence); read in place.
 */
function chaosMeshCrds(): Map<string, OpenApiSchema> {
  const root = new URL('..', import.meta.url).pathname;
  const candidates = [resolve(root, '..', 'shared', 'fixtures', 'chaos-mesh'), '/work/shared/fixtures/chaos-mesh'];
  const dir = candidates.find((d) => existsSync(join(d, 'chaos-mesh.org_workflows.yaml')));
  assert.ok(dir, `Chaos Mesh's CRDs are test data in ${candidates[0]}`);
  const schemas = new Map<string, OpenApiSchema>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) for (const [kind, schema] of crdSchemas(readFileSync(join(dir, file), 'utf8'))) schemas.set(kind, schema);
  return schemas;
}

const crds = chaosMeshCrds();
const options = { namespace: 'chaos', labelKey: 'app.kubernetes.io/name' };
const library = new URL('../scenarios/', import.meta.url).pathname;

test("every library scenario exports to a Workflow that Chaos Mesh's own schemas accept, each chaos in its kind's schema too", async () => {
  const workflowSchema = crds.get('Workflow')!;
  assert.ok(workflowSchema && crds.get('NetworkChaos') && crds.get('PodChaos') && crds.get('StressChaos'));
  let exported = 0;
  let stress = 0;
  for (const file of readdirSync(library).filter((f) => f.endsWith('.yaml') && !f.endsWith('.schedule.yaml')).sort()) {
    const scenario = await loadScenarioFile(join(library, file));
    const { workflow, skipped } = exportChaosMesh(scenario, options);
    assert.deepEqual(validate(workflow, workflowSchema), [], file);
    const templates = (workflow.spec as { templates: Record<string, unknown>[] }).templates;
    for (const template of templates) {
      for (const kind of ['NetworkChaos', 'PodChaos', 'StressChaos']) {
        const spec = template[kind[0]!.toLowerCase() + kind.slice(1)];
        if (spec) assert.deepEqual(validate(spec, crds.get(kind)!.properties!.spec!, `${file} ${String(template.name)}`), []);
      }
    }
    const chaos = templates.filter((t) => String(t.templateType).endsWith('Chaos')).length;
    // every fault is either exported or listed with its reason
    assert.equal(chaos + skipped.length, scenario.faults.length, file);
    exported += chaos;
    stress += templates.filter((t) => t.templateType === 'StressChaos').length;
  }
  assert.ok(exported >= 15, `${exported} faults exported`);
  assert.ok(stress >= 2, 'the memory-limit scenario\'s squeezes are StressChaos');
});

test('a leader isolation becomes a timed partition of one pod from its service; a latency toxic, a delay from the app to the service', () => {
  const scenario = parseScenario(`name: two-faults
twin:
  services:
    etcd: { kind: etcd, replicas: 3 }
    redis: { kind: redis }
    ledger: { kind: app, app: ledger, links: [redis, etcd] }
baseline: { warmup: 30s }
faults:
  - { id: cut, type: partition, mode: isolate, target: etcd.leader, at: 30s, duration: 20s }
  - { id: slow, type: toxic, link: ledger->redis, toxic: latency, attributes: { latency: 200, jitter: 5 }, at: 60s, duration: 1500ms }
  - { id: reset, type: toxic, link: ledger->redis, toxic: reset_peer, at: 90s, duration: 5s }
`);
  const { workflow, skipped, approximated } = exportChaosMesh(scenario, options);
  const templates = (workflow.spec as { entry: string; templates: Record<string, unknown>[] }).templates;
  const byName = new Map(templates.map((t) => [t.name, t]));
  assert.deepEqual(byName.get('two-faults-faults'), { name: 'two-faults-faults', templateType: 'Parallel', children: ['cut', 'slow'] });
  assert.deepEqual(byName.get('cut'), { name: 'cut', templateType: 'Serial', children: ['cut-wait', 'cut-chaos'] });
  assert.deepEqual(byName.get('cut-wait'), { name: 'cut-wait', templateType: 'Suspend', deadline: '30s' });
  assert.deepEqual(byName.get('cut-chaos'), {
    name: 'cut-chaos', templateType: 'NetworkChaos', deadline: '20s',
    networkChaos: {
      action: 'partition', mode: 'one', direction: 'both',
      selector: { namespaces: ['chaos'], labelSelectors: { 'app.kubernetes.io/name': 'etcd' } },
      target: { mode: 'all', selector: { namespaces: ['chaos'], labelSelectors: { 'app.kubernetes.io/name': 'etcd' } } },
    },
  });
  assert.deepEqual((byName.get('slow-chaos') as { deadline: string; networkChaos: Record<string, unknown> }).deadline, '1500ms');
  assert.deepEqual((byName.get('slow-chaos') as { networkChaos: Record<string, unknown> }).networkChaos.delay, { latency: '200ms', jitter: '5ms' });
  assert.deepEqual(skipped.map((s) => s.id), ['reset']);
  assert.ok(approximated.some((a) => a.id === 'cut' && /leader/.test(a.note)), 'the leader role is said to be approximated');
});

test('the schema check fails what Chaos Mesh would refuse', () => {
  const schema = crds.get('NetworkChaos')!.properties!.spec!;
  assert.deepEqual(validate({ action: 'partition', mode: 'one', selector: {}, direction: 'sideways' }, schema), ['.direction: expected one of "to", "from", "both", saw "sideways"']);
  assert.deepEqual(validate({ action: 'delay', mode: 'one', selector: {}, delay: { latency: '200 ms' } }, schema), ['.delay.latency: "200 ms" does not match ^[0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h)$']);
  assert.deepEqual(validate({ action: 'delay', mode: 'one', selector: {}, delay: { latency: '1ms' }, colour: 'red' }, schema), ['.colour: unknown field']);
});

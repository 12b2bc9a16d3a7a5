import { parseAllDocuments } from 'yaml';

/** The subset of OpenAPI v3 that Kubernetes' structural schemas use. */
export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  additionalProperties?: boolean | OpenApiSchema;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
}

/**
 * The schema of each kind a CustomResourceDefinition file defines (`spec.versions[].schema.
 * openAPIV3Schema`, the served version), by `kind`.
 */
export function crdSchemas(text: string): Map<string, OpenApiSchema> {
  const schemas = new Map<string, OpenApiSchema>();
  for (const document of parseAllDocuments(text)) {
    const crd = document.toJS({ maxAliasCount: 100 }) as { kind?: string; spec?: { names?: { kind?: string }; versions?: { served?: boolean; schema?: { openAPIV3Schema?: OpenApiSchema } }[] } } | null;
    if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec?.names?.kind) continue;
    const version = crd.spec.versions?.find((v) => v.served !== false && v.schema?.openAPIV3Schema);
    if (version) schemas.set(crd.spec.names.kind, version.schema!.openAPIV3Schema!);
  }
  return schemas;
}

/**
 * Every way `value` breaks `schema`, as `path: problem`. Strict, as `kubectl apply
 * --validate=strict` is: a field the schema does not name is an error, not pruned.
 */
export function validate(value: unknown, schema: OpenApiSchema, path = ''): string[] {
  const at = path || '(root)';
  if (schema['x-kubernetes-int-or-string']) {
    return typeof value === 'string' || Number.isInteger(value) ? [] : [`${at}: expected an integer or a string`];
  }
  const problems: string[] = [];
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object`];
      const record = value as Record<string, unknown>;
      for (const key of schema.required ?? []) if (!(key in record)) problems.push(`${at}: missing required field ${key}`);
      for (const [key, child] of Object.entries(record)) {
        const property = schema.properties?.[key];
        if (property) problems.push(...validate(child, property, `${path}.${key}`));
        else if (typeof schema.additionalProperties === 'object') problems.push(...validate(child, schema.additionalProperties, `${path}.${key}`));
        else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true && schema.properties) problems.push(`${path}.${key}: unknown field`);
      }
      return problems;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${at}: expected an array`];
      return schema.items ? value.flatMap((item, i) => validate(item, schema.items!, `${path}[${i}]`)) : [];
    case 'string':
      if (typeof value !== 'string') return [`${at}: expected a string`];
      if (schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
      if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`);
      break;
    case 'integer':
      if (!Number.isInteger(value)) return [`${at}: expected an integer`];
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return [`${at}: expected a number`];
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return [`${at}: expected a boolean`];
      break;
    default:
      break;
  }
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${at}: expected one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}, saw ${JSON.stringify(value)}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${at}: above ${schema.maximum}`);
  }
  return problems;
}

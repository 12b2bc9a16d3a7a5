export { exportChaosMesh, type ChaosMeshExport, type ChaosMeshOptions } from './chaos-mesh.ts';
export { crdSchemas, validate, type OpenApiSchema } from './openapi.ts';

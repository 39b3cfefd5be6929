// The OpenAPI 3.1 description of the API, built from the route declarations (routes.ts): the zod
// schemas that validate a request are the ones described, turned into JSON Schema by zod.
import { z } from 'zod';
import { pathParams, type Route } from './route.js';

/** Errors any route may answer, besides its own (Route.errors). */
const COMMON_ERRORS: Record<string, number> = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
};

const errorSchema = z.object({
  error: z.object({
    code: z.string().describe('stable, machine-readable: what a client tests'),
    message: z.string().describe('for people'),
    details: z.unknown().optional().describe('validation issues (path and message), or the lines of a refused config'),
  }),
});

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
}

function parameters(route: Route): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const name of pathParams(route.path)) {
    const field = route.params?.shape[name] as z.ZodType | undefined;
    out.push({ name, in: 'path', required: true, schema: field ? jsonSchema(field, 'input') : { type: 'string' } });
  }
  for (const [name, field] of Object.entries(route.query?.shape ?? {})) {
    const f = field as z.ZodType;
    out.push({ name, in: 'query', required: !f.safeParse(undefined).success, schema: jsonSchema(f, 'input') });
  }
  return out;
}

export function openApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const errors = { ...COMMON_ERRORS, ...route.errors };
    const byStatus = new Map<number, string[]>();
    for (const [code, status] of Object.entries(errors)) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    const responses: Record<string, unknown> = {
      [String(route.success ?? 200)]: { description: 'success', content: { 'application/json': { schema: jsonSchema(route.response, 'output') } } },
    };
    for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0]))
      responses[String(status)] = { description: `error codes: ${codes.join(', ')}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    const op: Record<string, unknown> = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/^\/api/, '').replace(/\/\{?([a-z_]+)\}?/g, (_, w: string) => w[0]!.toUpperCase() + w.slice(1))}`,
      summary: route.summary,
      description: route.privilege ? `Needs a token with the "${route.privilege}" privilege.` : 'Any valid token.',
      parameters: parameters(route),
      responses,
    };
    if (route.body) op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'ircd administration API', version, description: 'Bearer tokens from [api] tokens in the config (ircd mkpasswd --token). Errors are JSON with a stable code.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: jsonSchema(errorSchema, 'output') },
    },
    paths,
  };
}

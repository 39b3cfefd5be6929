// The shape of an API route: method, path, privilege, and zod schemas for its path parameters,
// query and body. The same declaration validates requests (http.ts) and is turned into the
// OpenAPI description (openapi.ts), so the two cannot drift apart.
import type { z } from 'zod';
import type { Privilege } from '../../config/schema.js';
import type { Server } from '../../server/server.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'DELETE'];

/** An answer other than 2xx: an HTTP status, a stable code (the contract) and a message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Who is calling: the token's name (logged with every call) and what it may do. */
export interface Caller {
  name: string;
  privileges: ReadonlySet<string>;
  /** Where the request came from, for the log. */
  ip: string;
}

export interface RouteContext<P, Q, B> {
  server: Server;
  caller: Caller;
  params: P;
  query: Q;
  body: B;
}

export interface ApiAnswer {
  /** 200 unless given. */
  status?: number;
  body: unknown;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface Route<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends z.ZodType = z.ZodType> {
  method: Method;
  /** "/api/users/{nick}": each {name} is one path segment, URL-decoded, checked by `params`. */
  path: string;
  /** One line for the OpenAPI summary and the panel's error messages. */
  summary: string;
  /** The oper privilege the token needs (403 otherwise); none: any valid token. */
  privilege?: Privilege;
  /** A call that changes something: logged as an audit record. */
  changes?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** The schema of a successful answer's body (documentation only). */
  response: z.ZodType;
  /** Status of a success (200 unless given) and the error codes this route adds to the common ones. */
  success?: number;
  errors?: Record<string, number>;
  handler(ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>): ApiAnswer | Promise<ApiAnswer>;
}

/** Declares a route with its handler's types inferred from its schemas. */
export function route<P extends AnyObject, Q extends AnyObject, B extends z.ZodType>(r: Route<P, Q, B>): Route {
  return r as unknown as Route;
}

/** The names of a path template's parameters, in order: "/api/bans/{kind}/{mask}" gives kind, mask. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
}

/**
 * Matches a request path against a template, segment by segment; the parameters are URL-decoded
 * after splitting, so an encoded "/" (%2F, as in a CIDR) stays inside its segment. Undefined when
 * the path does not fit; throws ApiError 400 for a segment that is not valid percent-encoding.
 */
export function matchPath(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    const name = /^\{([a-z_]+)\}$/.exec(w)?.[1];
    if (name === undefined) {
      if (w !== g) return undefined;
      continue;
    }
    if (g === '') return undefined;
    try {
      params[name] = decodeURIComponent(g);
    } catch {
      throw new ApiError(400, 'INVALID_REQUEST', `path segment "${g.slice(0, 100)}" is not valid percent-encoding`);
    }
  }
  return params;
}

// Pure parts of the admin API: the activity ring, path matching, and the OpenAPI document built
// from the route declarations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/modules/api/openapi.js';
import { ApiError, matchPath, pathParams } from '../../src/modules/api/route.js';
import { apiRoutes } from '../../src/modules/api/routes.js';
import { MinuteSamples } from '../../src/modules/api/samples.js';

describe('MinuteSamples', () => {
  it('keeps the last `capacity` samples in order, with messages as the difference of running totals', () => {
    const s = new MinuteSamples(3);
    s.record(1, 5, 100);
    s.record(2, 6, 130);
    expect(s.list()).toEqual([
      { at: 1, users: 5, messages: 0 },
      { at: 2, users: 6, messages: 30 },
    ]);
    s.record(3, 7, 130);
    s.record(4, 8, 131);
    s.record(5, 9, 140);
    expect(s.list()).toEqual([
      { at: 3, users: 7, messages: 0 },
      { at: 4, users: 8, messages: 1 },
      { at: 5, users: 9, messages: 9 },
    ]);
    expect(s.totalAtLast).toBe(140);
  });

  it('never holds more than its capacity and stays in time order, whatever is recorded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.array(fc.nat(1000), { maxLength: 40 }), (capacity, totals) => {
        const s = new MinuteSamples(capacity);
        totals.forEach((t, i) => s.record(i, i, t));
        const list = s.list();
        expect(list.length).toBe(Math.min(capacity, totals.length));
        expect(list.map((x) => x.at)).toEqual([...list.map((x) => x.at)].sort((a, b) => a - b));
        for (const x of list) expect(x.messages).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

describe('matchPath', () => {
  it('decodes each parameter after splitting, so an encoded slash stays in its segment', () => {
    expect(matchPath('/api/bans/{kind}/{mask}', '/api/bans/D/10.0.0.0%2F24')).toEqual({ kind: 'D', mask: '10.0.0.0/24' });
    expect(matchPath('/api/bans/{kind}/{mask}', '/api/bans/D/10.0.0.0/24')).toBeUndefined();
    expect(matchPath('/api/users/{nick}', '/api/users/')).toBeUndefined();
    expect(matchPath('/api/users', '/api/users/')).toBeUndefined();
    expect(() => matchPath('/api/users/{nick}', '/api/users/%E0%A4%A')).toThrow(ApiError);
  });

  it('gives back any encoded value unchanged', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'grapheme' }), (value) => {
        expect(matchPath('/api/users/{nick}', `/api/users/${encodeURIComponent(value)}`)).toEqual({ nick: value });
      }),
    );
  });
});

describe('the OpenAPI document', () => {
  const routes = apiRoutes(() => []);
  const doc = openApiDocument(routes, '1.0') as { paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string }>; requestBody?: unknown }>> };

  it('has every route, with its path parameters and its body schema when it takes one', () => {
    for (const r of routes) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op!.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(pathParams(r.path));
      expect(op!.requestBody !== undefined).toBe(r.body !== undefined);
    }
  });

  it('declares each route once, with path parameters that its params schema checks', () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of routes) expect(Object.keys(r.params?.shape ?? {}).sort()).toEqual(pathParams(r.path).sort());
  });
});

import { describe, expect, it } from 'vitest';
import { cloakHost, cloakSecretProblem, EXAMPLE_CLOAK_SECRET } from '../../src/auth/cloak.js';
import { validateConfig } from '../../src/config/load.js';
import { testConfig } from '../support/harness.js';

const SECRET = 'f3a1c9e07b2d4e5f8a6b1c0d9e8f7a6b5c4d3e2f1a0b9c8d';
const OTHER = '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a';

describe('cloakHost', () => {
  it('is stable for the same input and secret, and differs with the secret', () => {
    expect(cloakHost(SECRET, '192.0.2.10', 'cloak')).toBe(cloakHost(SECRET, '192.0.2.10', 'cloak'));
    expect(cloakHost(SECRET, '192.0.2.10', 'cloak')).not.toBe(cloakHost(OTHER, '192.0.2.10', 'cloak'));
  });

  it('cloaks IPv4 so addresses in one /24 share the tail', () => {
    const a = cloakHost(SECRET, '192.0.2.10', 'cloak');
    const b = cloakHost(SECRET, '192.0.2.11', 'cloak');
    expect(a).toMatch(/^[0-9a-f]{8}\.[0-9a-f]{8}\.[0-9a-f]{8}\.IP$/);
    expect(a).not.toBe(b);
    expect(a.split('.').slice(1)).toEqual(b.split('.').slice(1));
    expect(a).not.toContain('192');
  });

  it('cloaks IPv6 on its canonical form, sharing the /64 part', () => {
    const a = cloakHost(SECRET, '2001:db8::1', 'cloak');
    expect(a).toMatch(/^[0-9a-f]{8}:[0-9a-f]{8}:[0-9a-f]{8}:IP$/);
    expect(cloakHost(SECRET, '2001:0db8:0:0::1', 'cloak')).toBe(a);
    expect(cloakHost(SECRET, '2001:db8::2', 'cloak').split(':').slice(1)).toEqual(a.split(':').slice(1));
  });

  it('keeps the domain of hostnames and hides the first label', () => {
    const c = cloakHost(SECRET, 'dsl-198-51-100-7.pool.example.net', 'cloak');
    expect(c).toMatch(/^cloak-[0-9a-f]{8}\.pool\.example\.net$/);
    expect(cloakHost(SECRET, 'DSL-198-51-100-7.Pool.Example.NET', 'cloak')).toBe(c);
    expect(cloakHost(SECRET, `${'a'.repeat(60)}.${'b'.repeat(40)}.example.net`, 'x').length).toBeLessThanOrEqual(63);
  });
});

describe('cloaking secrets', () => {
  it('explains how to make a secret when it is missing, short or the example', () => {
    for (const bad of ['', 'tooshort', EXAMPLE_CLOAK_SECRET, 'a'.repeat(40)]) expect(cloakSecretProblem(bad)).toMatch(/openssl rand -hex 32/);
    expect(cloakSecretProblem(SECRET)).toBeUndefined();
  });

  it('makes the config invalid (server refuses to start) with a bad secret when enabled', () => {
    const load = (cloaking: object) => () => validateConfig(testConfig({ cloaking }), 'ircd.toml');
    expect(load({ enabled: true })).toThrow(/cloaking\.secret: a secret is required.*openssl rand -hex 32/);
    expect(load({ enabled: true, secret: 'short' })).toThrow(/cloaking\.secret: the secret is too short/);
    expect(load({ enabled: true, secret: EXAMPLE_CLOAK_SECRET })).toThrow(/example secret/);
    expect(load({ enabled: true, secret: SECRET })).not.toThrow();
    expect(load({ enabled: false })).not.toThrow();
  });
});

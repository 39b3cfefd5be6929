// Capability sets past 32 capabilities: one bit per capability in 32-bit words, where a single
// number would wrap (1 << 32 === 1 << 0) and the 33rd capability would read as the 1st.
import { describe, expect, it } from 'vitest';
import { CAP, CAP_NAMES, capsHas, capsUnion, capsWith, NO_CAPS, tagView } from '../../src/server/caps.js';

describe('CapSet', () => {
  it('holds capabilities past the 32nd without aliasing the first ones', () => {
    const held = [0, 31, 32, 40, 63, 64, 100];
    const set = capsWith(NO_CAPS, held, []);
    for (let cap = 0; cap <= 101; cap++) expect(capsHas(set, cap), `cap ${cap}`).toBe(held.includes(cap));
    const fewer = capsWith(set, [], [32, 100]);
    expect([0, 31, 40, 63, 64].every((cap) => capsHas(fewer, cap))).toBe(true);
    expect([1, 32, 100].some((cap) => capsHas(fewer, cap))).toBe(false);
  });

  it('never changes a set in place, so the shared empty set stays empty', () => {
    const before = [...NO_CAPS];
    const set = capsWith(NO_CAPS, [3, 35], []);
    capsWith(set, [], [3]);
    expect(NO_CAPS).toEqual(before);
    expect(capsHas(set, 3) && capsHas(set, 35)).toBe(true);
    expect(capsHas(NO_CAPS, 35)).toBe(false);
  });

  it('unites sets of different lengths (a user with several sessions)', () => {
    const all = capsUnion(capsWith(NO_CAPS, [1], []), capsWith(NO_CAPS, [33, 70], []));
    expect([1, 33, 70].every((cap) => capsHas(all, cap))).toBe(true);
    expect(capsHas(all, 2) || capsHas(all, 34)).toBe(false);
  });

  it('keys the fan-out view on the tag-gating capabilities of the first word only', () => {
    expect(tagView(capsWith(NO_CAPS, [40, 64], []))).toBe(0);
    expect(tagView(capsWith(NO_CAPS, [CAP['server-time'], 40], []))).toBe(1 << CAP['server-time']);
    expect(NO_CAPS.length * 32).toBeGreaterThanOrEqual(CAP_NAMES.length);
  });
});

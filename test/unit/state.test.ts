// The state store's indexes of accounts and MONITOR watchers: found without scanning every client.
import { describe, expect, it } from 'vitest';
import { caseFolder } from '../../src/protocol/casemap.js';
import type { Client } from '../../src/server/client.js';
import { State } from '../../src/server/state.js';

const fakeClient = () => ({ account: undefined }) as unknown as Client;

describe('State account index', () => {
  it('follows logins, logouts and account changes, casefolded', () => {
    const state = new State(caseFolder('rfc1459'));
    const [a, b] = [fakeClient(), fakeClient()];
    state.setAccount(a, 'Alys[1]');
    state.setAccount(b, 'alys{1}');
    expect([...state.withAccount('ALYS{1}')]).toEqual([a, b]);
    state.setAccount(a, 'other');
    expect([...state.withAccount('alys[1]')]).toEqual([b]);
    expect([...state.withAccount('Other')]).toEqual([a]);
    state.setAccount(a, undefined);
    expect(a.account).toBeUndefined();
    expect([...state.withAccount('other')]).toEqual([]);
  });

  it('forgets a departing client but leaves its account field for quit hooks', () => {
    const state = new State(caseFolder('ascii'));
    const a = fakeClient();
    state.setAccount(a, 'alys');
    state.forgetAccount(a);
    expect(a.account).toBe('alys');
    expect(state.withAccount('alys').size).toBe(0);
  });
});

describe('State MONITOR index', () => {
  it('finds the watchers of a nick in any case until they unwatch it', () => {
    const state = new State(caseFolder('rfc1459'));
    const [a, b] = [fakeClient(), fakeClient()];
    state.watch(state.fold('Nick[1]'), a);
    state.watch(state.fold('nick{1}'), b);
    expect([...state.watchersOf('NICK{1}')]).toEqual([a, b]);
    state.unwatch(state.fold('nick[1]'), a);
    expect([...state.watchersOf('nick{1}')]).toEqual([b]);
    state.unwatch(state.fold('nick[1]'), b);
    expect(state.watchersOf('nick{1}').size).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { detectSupervisor, planRestart } from '../../src/server/restart.js';

const none = () => false;
const only = (path: string) => (p: string) => p === path;

describe('RESTART plan', () => {
  it('detects systemd from its environment, and containers from their marker files', () => {
    expect(detectSupervisor({ INVOCATION_ID: 'abc' }, none)).toBe('systemd');
    expect(detectSupervisor({ NOTIFY_SOCKET: '/run/systemd/notify' }, none)).toBe('systemd');
    expect(detectSupervisor({}, only('/.dockerenv'))).toBe('docker');
    expect(detectSupervisor({}, only('/run/.containerenv'))).toBe('container');
    expect(detectSupervisor({ INVOCATION_ID: '' }, none)).toBeUndefined();
  });

  it('exits under a supervisor and re-executes without one when set to auto', () => {
    expect(planRestart('auto', { INVOCATION_ID: 'abc' }, none)).toEqual({ how: 'exit', why: 'systemd' });
    expect(planRestart('auto', {}, only('/.dockerenv'))).toEqual({ how: 'exit', why: 'docker' });
    expect(planRestart('auto', {}, none)).toEqual({ how: 'reexec', why: 'no supervisor' });
  });

  it('does what the config says when set explicitly, whatever is detected', () => {
    expect(planRestart('reexec', { INVOCATION_ID: 'abc' }, only('/.dockerenv'))).toEqual({ how: 'reexec', why: 'server.restart' });
    expect(planRestart('exit', {}, none)).toEqual({ how: 'exit', why: 'server.restart' });
  });
});

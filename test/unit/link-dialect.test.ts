// Mode translation at a link's edge (src/modules/link/dialect.ts): letters the two sides do not
// share with the same kind are dropped with their parameter, the rest kept in order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { peerTable, toPeer, translateModes } from '../../src/modules/link/dialect.js';

const ours = peerTable(new Set(['CHANMODES=beI,k,fl,CMUimnpstu', 'PREFIX=(ohv)@%+']));
const charybdis = peerTable(new Set(['QS', 'EX', 'IE', 'ENCAP']));

describe('link mode translation', () => {
  it('drops their letters we lack, with the parameter each takes there', () => {
    expect(translateModes(['+ntjcz', '3:10'], charybdis, ours)).toEqual(['+nt']);
    expect(translateModes(['+qvb', 'quiet!*@*', '9OLAAAAAA', 'ban!*@*'], charybdis, ours)).toEqual(['+vb', '9OLAAAAAA', 'ban!*@*']);
    expect(translateModes(['-j+f', '#overflow'], charybdis, ours)).toEqual(['+f', '#overflow']);
    expect(translateModes(['+qz', 'x!*@*'], charybdis, ours)).toBeUndefined();
  });

  it('drops our letters they lack or read otherwise: U, u, M, halfop', () => {
    expect(translateModes(['+UuMhk', 'nick', 'key'], ours, charybdis)).toEqual(['+k', 'key']);
    expect(translateModes(['-h+o-l', 'a', 'b'], ours, charybdis)).toEqual(['+o-l', 'b']);
  });

  it('keeps S on the introduction of a service to a charybdis-family peer, and drops our user modes it lacks', () => {
    const euid = (modes: string) => ({ source: '1AA', command: 'EUID', params: ['SaslServ', '1', '1', modes, 'sasl', 'a.test', '0', '1AAAAAAAB', 'a.test', '*', 'agent'] });
    const [line] = toPeer(ours, charybdis, new Set(['EUID']), euid('+BiS'));
    expect(line!.params[3]).toBe('+iS');
  });

  it('between two of our own daemons with different prefixes, the prefix one lacks is dropped', () => {
    const plain = peerTable(new Set(['CHANMODES=beI,k,fl,CMUimnpstu', 'PREFIX=(ov)@+']));
    expect(translateModes(['+hvU', 'a', 'b'], ours, plain)).toEqual(['+vU', 'b']);
    expect(translateModes(['+ov', 'a', 'b'], plain, ours)).toEqual(['+ov', 'a', 'b']);
  });

  it('between two of our own daemons with the same modes, nothing changes', () => {
    const letters = fc.constantFrom(...'beIkflCMUimnpstuohv');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), letters), { minLength: 1, maxLength: 8 }), (changes) => {
        let modes = '';
        let sign = '';
        const args: string[] = [];
        for (const [add, c] of changes) {
          const s = add ? '+' : '-';
          if (s !== sign) modes += sign = s;
          modes += c;
          if ('beIkohv'.includes(c) || ('fl'.includes(c) && add)) args.push(`p${args.length}`);
        }
        expect(translateModes([modes, ...args], ours, ours)).toEqual([modes, ...args]);
      }),
    );
  });
});

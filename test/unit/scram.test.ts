import { describe, expect, it } from 'vitest';
import {
  authMessage,
  checkPassword,
  credentialsFromSalted,
  decoyCredentials,
  makeCredentials,
  parseClientFinal,
  parseClientFirst,
  saltPassword,
  serverFinal,
  serverFirst,
  verifyClientProof,
} from '../../src/auth/scram.js';

// RFC 7677 section 3: user "user", password "pencil".
const CLIENT_FIRST = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const NONCE = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const SERVER_FIRST = `r=${NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`;
const CLIENT_FINAL = `c=biws,r=${NONCE},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`;
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

describe('SCRAM-SHA-256 (RFC 7677 test vector)', () => {
  it('reproduces the server side of the exchange', async () => {
    const creds = credentialsFromSalted(await saltPassword('pencil', SALT, 4096), SALT, 4096);
    const first = parseClientFirst(CLIENT_FIRST)!;
    expect(first).toMatchObject({ gs2Header: 'n,,', username: 'user', nonce: 'rOprNGfwEbeRWgbNEkqO', authzid: undefined });
    expect(serverFirst(NONCE, creds)).toBe(SERVER_FIRST);
    const final = parseClientFinal(CLIENT_FINAL)!;
    expect(final.channelBinding).toBe(Buffer.from('n,,').toString('base64'));
    expect(final.nonce).toBe(NONCE);
    const auth = authMessage(first, SERVER_FIRST, final);
    expect(verifyClientProof(creds, auth, final.proof)).toBe(true);
    expect(serverFinal(creds, auth)).toBe(SERVER_FINAL);
  });

  it('rejects a proof made with another password', async () => {
    const creds = credentialsFromSalted(await saltPassword('pencils', SALT, 4096), SALT, 4096);
    const first = parseClientFirst(CLIENT_FIRST)!;
    const final = parseClientFinal(CLIENT_FINAL)!;
    expect(verifyClientProof(creds, authMessage(first, SERVER_FIRST, final), final.proof)).toBe(false);
  });

  it('checks PLAIN passwords against the same verifier', async () => {
    const creds = await makeCredentials('sesame', 4096);
    expect(await checkPassword('sesame', creds)).toBe(true);
    expect(await checkPassword('millet', creds)).toBe(false);
  });

  it('derives a decoy per name that stays the same and that no password matches', async () => {
    const decoy = decoyCredentials('nobody', 4096);
    expect(decoyCredentials('nobody', 4096)).toEqual(decoy);
    expect(decoy.salt).toHaveLength(16);
    expect(decoyCredentials('somebody', 4096).salt).not.toEqual(decoy.salt);
    expect(await checkPassword('', decoy)).toBe(false);
    expect(await checkPassword('nobody', decoy)).toBe(false);
  });

  it('parses authzid and escaped names, refuses malformed or channel-bound messages', () => {
    expect(parseClientFirst('n,a=bob,n=b=2Cob=3D,r=abc')).toMatchObject({ gs2Header: 'n,a=bob,', authzid: 'bob', username: 'b,ob=' });
    expect(parseClientFirst('y,,n=bob,r=abc')?.gs2Header).toBe('y,,');
    expect(parseClientFirst('p=tls-unique,,n=bob,r=abc')).toBeUndefined();
    expect(parseClientFirst('n,,n=b=ob,r=abc')).toBeUndefined();
    expect(parseClientFirst('n,,m=ext,n=bob,r=abc')).toBeUndefined();
    expect(parseClientFirst('n,,n=,r=abc')).toBeUndefined();
    expect(parseClientFirst('garbage')).toBeUndefined();
    expect(parseClientFinal('c=biws,r=abc')).toBeUndefined();
    expect(parseClientFinal('c=biws,r=abc,p=!!')).toBeUndefined();
  });
});

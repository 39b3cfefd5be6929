// SASL (IRCv3 sasl 3.1/3.2): AUTHENTICATE with PLAIN, EXTERNAL and SCRAM-SHA-256 against the
// account store, with 400-byte chunking, abort, re-authentication, and brute force limits.
// Spec: https://ircv3.net/specs/extensions/sasl-3.1 · https://ircv3.net/specs/extensions/sasl-3.2
import { AttemptCounter } from '../auth/attempts.js';
import {
  authMessage,
  checkPassword,
  decoyCredentials,
  newServerNonce,
  parseClientFinal,
  parseClientFirst,
  serverFinal,
  serverFirst,
  verifyClientProof,
  type ClientFirst,
  type ScramCredentials,
} from '../auth/scram.js';
import { ERR, RPL } from '../protocol/numerics.js';
import { CAP } from '../server/caps.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { serverSlot, userSlot } from '../server/slots.js';
import type { Server } from '../server/server.js';
import type { Account } from '../store/accounts.js';
import { accountStore, logIn } from './accounts.js';

const CHUNK = 400;

export interface Session {
  mechanism: string;
  /** Base64 received so far for the current client response. */
  buffer: string;
  /** SCRAM: what the next client response is (client-first, client-final, the closing empty one). */
  stage: 'first' | 'final' | 'done';
  scram?: {
    first: ClientFirst;
    serverFirst: string;
    nonce: string;
    /** The name asked for; for a missing account the exchange runs on to its end against a decoy. */
    username: string;
    account: Account | undefined;
    credentials: ScramCredentials;
  };
}

/** Failed attempts per IP and per account, per server. */
const failures = serverSlot<{ byIp: AttemptCounter; byAccount: AttemptCounter }>('sasl');
/** The exchange a client of this server has under way. */
const sessions = userSlot<Session>();

/**
 * The other end of an exchange: a client of this server, or a client of another server that
 * relays its AUTHENTICATE here while this server is the network's SASL agent (link/sasl.ts).
 */
export interface SaslParty {
  /** Whom failures are counted against (the client's address). */
  readonly limitKey: string;
  readonly ip: string;
  /** For log lines: the connection id, or another server's client's UID. */
  readonly logId: number | string;
  readonly certFingerprint: string | undefined;
  session: Session | undefined;
  /** The client went away meanwhile (a password was being hashed). */
  gone(): boolean;
  /** One AUTHENTICATE line of a challenge: a chunk of base64, or "+". */
  challenge(chunk: string): void;
  /** The exchange ended well: log the client in, 903. */
  succeeded(account: string): void;
  /** 904 (or the agent's "D F"), with the text a local client sees. */
  failed(text: string): void;
  /** 908: the mechanisms offered (the agent's "M"). */
  mechanisms(list: string): void;
}

/** A client of this server as a SASL party. */
function localParty(server: Server, client: User): SaslParty {
  return {
    limitKey: client.limitKey,
    ip: client.ip,
    logId: client.id,
    certFingerprint: client.session.conn.certFingerprint,
    get session() {
      return sessions.get(client);
    },
    set session(s) {
      if (s) sessions.set(client, s);
      else sessions.delete(client);
    },
    gone: () => client.session.conn.closed,
    challenge: (chunk) => client.fromServer('AUTHENTICATE', [chunk]),
    succeeded(account) {
      logIn(server, client, account);
      client.numeric(RPL.SASLSUCCESS, 'SASL authentication successful');
    },
    failed: (text) => client.numeric(ERR.SASLFAIL, text),
    mechanisms: (list) => client.numeric(RPL.SASLMECHS, list, 'are available SASL mechanisms'),
  };
}

/** A server challenge, base64 in chunks of 400; "+" ends a response that filled its last chunk (or is empty). */
function sendChallenge(party: SaslParty, text: string): void {
  const b64 = Buffer.from(text, 'utf8').toString('base64');
  for (let i = 0; i < b64.length; i += CHUNK) party.challenge(b64.slice(i, i + CHUNK));
  if (b64.length % CHUNK === 0) party.challenge('+');
}

function strictBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function strictUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function limits(server: Server) {
  const cfg = server.config.sasl;
  return { ...failures.require(server), cfg, windowMs: cfg.failure_window * 1000 };
}

/**
 * Why this client may not try the account now, if it may not. Too many failures (or attempts under
 * way) from its address stop it. An account with too many failures is closed only to addresses
 * that have failed themselves, so guessers from many addresses cannot lock its owner out; each of
 * them gets its first try and then meets the account's count and its own.
 */
function refusal(server: Server, party: SaslParty, name: string): string | undefined {
  const l = limits(server);
  if (l.byIp.count(party.limitKey, l.windowMs) >= l.cfg.failures_per_ip) return 'too many failures from this address';
  if (l.byIp.counted(party.limitKey, l.windowMs) > 0 && l.byAccount.count(server.state.fold(name), l.windowMs) >= l.cfg.failures_per_account)
    return 'too many failures for this account';
  return undefined;
}

function succeed(server: Server, party: SaslParty, account: string): void {
  server.stats.saslAttempt(party.session?.mechanism ?? 'other', true);
  party.session = undefined;
  party.succeeded(account);
}

/** Ends the attempt with 904, counts it against the IP (and account), and logs it without any payload. */
function fail(server: Server, party: SaslParty, reason: string, account?: string): void {
  const session = party.session;
  server.stats.saslAttempt(session?.mechanism ?? 'other', false);
  party.session = undefined;
  countFailure(server, party, reason, account, { mechanism: session?.mechanism }, 'SASL authentication failed');
  party.failed('SASL authentication failed');
}

/** Counts a failed login against the client's address (and the account), and logs it without any payload. */
function countFailure(server: Server, party: SaslParty, reason: string, account: string | undefined, via: Record<string, unknown>, what: string): void {
  const l = limits(server);
  l.byIp.hit(party.limitKey, l.windowMs);
  if (account) l.byAccount.hit(server.state.fold(account), l.windowMs);
  server.log.warn({ conn: party.logId, ip: party.ip, ...via, account, reason }, what);
}

/** What a password login came to: the account's stored name, or why it failed (and which account to count it against). */
export type PasswordLogin = { account: string } | { failure: string; account: string; limited?: true };

/**
 * Checks a name and password against the store under the SASL brute force limits (PLAIN, and
 * NickServ IDENTIFY and DROP); a missing account costs the same hashing as a wrong password.
 * Undefined when the client's connection closed meanwhile. The caller reports a failure.
 */
export function checkPasswordLogin(server: Server, client: User, name: string, password: string): Promise<PasswordLogin | undefined> {
  return checkPartyPassword(server, localParty(server, client), name, password);
}

async function checkPartyPassword(server: Server, party: SaslParty, name: string, password: string): Promise<PasswordLogin | undefined> {
  const refused = refusal(server, party, name);
  if (refused) return { failure: refused, account: name, limited: true };
  // Under way until its failure is counted: parallel guesses from one address meet its limit.
  const l = limits(server);
  return l.byIp.underWay(party.limitKey, async () => {
    const account = accountStore(server).get(name);
    const ok = await checkPassword(password, credentialsFor(server, name, account));
    if (party.gone()) return undefined;
    if (!account) return { failure: 'unknown account', account: name };
    if (!ok) return { failure: 'wrong password', account: account.name };
    return { account: account.name };
  });
}

/** A failed password login outside SASL (NickServ): counted and logged as SASL's are. */
export function passwordLoginFailed(server: Server, client: User, failure: { failure: string; account: string }, via: string): void {
  countFailure(server, localParty(server, client), failure.failure, failure.account, { via }, 'login failed');
}

// ---- mechanisms --------------------------------------------------------------------------------------

/** The stored verifier, or for a missing account a decoy, so the exchange looks and takes the same either way. */
function credentialsFor(server: Server, name: string, account: Account | undefined): ScramCredentials {
  return account?.credentials ?? decoyCredentials(server.state.fold(name), server.config.accounts.pbkdf2_iterations);
}

async function plain(server: Server, party: SaslParty, data: Buffer): Promise<void> {
  const parts = data.toString('binary').split('\0');
  if (parts.length !== 3) return fail(server, party, 'malformed PLAIN response');
  const [authzid, authcid, password] = parts.map((p) => strictUtf8(Buffer.from(p, 'binary')));
  if (authzid === undefined || !authcid || !password) return fail(server, party, 'malformed PLAIN response');
  const fold = server.state.fold;
  // Acting as another account (authzid) is not supported.
  if (authzid && fold(authzid) !== fold(authcid)) return fail(server, party, 'authzid differs from authcid', authcid);
  const result = await checkPartyPassword(server, party, authcid, password);
  if (result === undefined) return;
  if ('failure' in result) return fail(server, party, result.failure, result.account);
  succeed(server, party, result.account);
}

function external(server: Server, party: SaslParty, data: Buffer): void {
  const fp = party.certFingerprint;
  if (!fp) return fail(server, party, 'no client certificate');
  const account = accountStore(server).byFingerprint(fp);
  if (!account) return fail(server, party, 'certificate not bound to an account');
  const authzid = strictUtf8(data);
  if (authzid === undefined || (authzid && server.state.fold(authzid) !== server.state.fold(account.name)))
    return fail(server, party, 'authzid differs from the certificate account', account.name);
  succeed(server, party, account.name);
}

function scram(server: Server, party: SaslParty, session: Session, data: Buffer): void {
  const text = strictUtf8(data);
  if (text === undefined) return fail(server, party, 'malformed SCRAM message', session.scram?.username);
  if (session.stage === 'first') {
    const first = parseClientFirst(text);
    if (!first) return fail(server, party, 'malformed client-first-message');
    const fold = server.state.fold;
    if (first.authzid && fold(first.authzid) !== fold(first.username)) return fail(server, party, 'authzid differs from username', first.username);
    const refused = refusal(server, party, first.username);
    if (refused) return fail(server, party, refused, first.username);
    const account = accountStore(server).get(first.username);
    const credentials = credentialsFor(server, first.username, account);
    const nonce = first.nonce + newServerNonce();
    const sf = serverFirst(nonce, credentials);
    session.scram = { first, serverFirst: sf, nonce, username: account?.name ?? first.username, account, credentials };
    session.stage = 'final';
    return sendChallenge(party, sf);
  }
  const s = session.scram!;
  if (session.stage === 'final') {
    const final = parseClientFinal(text);
    if (!final) return fail(server, party, 'malformed client-final-message', s.username);
    if (final.nonce !== s.nonce || final.channelBinding !== Buffer.from(s.first.gs2Header).toString('base64'))
      return fail(server, party, 'nonce or channel binding mismatch', s.username);
    // Checked again at the guess: other exchanges from this address may have failed since the first message.
    const refused = refusal(server, party, s.username);
    if (refused) return fail(server, party, refused, s.username);
    const auth = authMessage(s.first, s.serverFirst, final);
    // The proof is checked for a missing account too, so both take the same work.
    const proofOk = verifyClientProof(s.credentials, auth, final.proof);
    if (!s.account) return fail(server, party, 'unknown account', s.username);
    if (!proofOk) return fail(server, party, 'wrong password', s.username);
    session.stage = 'done';
    return sendChallenge(party, serverFinal(s.credentials, auth));
  }
  // The client acknowledges the server signature with an empty response.
  if (data.length !== 0) return fail(server, party, 'unexpected data after server-final-message', s.username);
  succeed(server, party, s.username);
}

// ---- AUTHENTICATE ------------------------------------------------------------------------------------

/** The mechanisms this server offers (the sasl capability's value, 908, its MECHLIST as the network's agent). */
export function mechanisms(server: Server): string {
  return server.config.sasl.mechanisms.join(',');
}

/**
 * Starts an exchange with a mechanism's name: the mechanisms offered (908) and a failure when it
 * is not one of them, a failure when the address failed too often, otherwise the first "+".
 */
export function beginExchange(server: Server, party: SaslParty, name: string): void {
  const mechanism = name.toUpperCase();
  if (!(server.config.sasl.mechanisms as string[]).includes(mechanism)) {
    party.mechanisms(mechanisms(server));
    party.failed('SASL authentication failed');
    return;
  }
  const l = limits(server);
  if (l.byIp.count(party.limitKey, l.windowMs) >= l.cfg.failures_per_ip) {
    server.log.warn({ conn: party.logId, ip: party.ip, mechanism }, 'SASL refused: too many failures from this IP');
    party.failed('SASL authentication failed: too many failed attempts, try again later');
    return;
  }
  party.session = { mechanism, buffer: '', stage: 'first' };
  party.challenge('+');
}

/** One AUTHENTICATE chunk of the client's response ("+" for an empty one, or the end of a full last chunk). */
export function continueExchange(server: Server, party: SaslParty, session: Session, arg: string): void | Promise<void> {
  if (arg !== '+') session.buffer += arg;
  if (session.buffer.length > server.config.sasl.max_response) return fail(server, party, 'response too long');
  if (arg.length === CHUNK) return; // a full chunk: more follows (or "+")
  const data = strictBase64(session.buffer);
  session.buffer = '';
  if (!data) return fail(server, party, 'invalid base64');
  switch (session.mechanism) {
    case 'PLAIN':
      return plain(server, party, data);
    case 'EXTERNAL':
      return external(server, party, data);
    default:
      return scram(server, party, session, data);
  }
}

/**
 * Where AUTHENTICATE goes on a server without accounts of its own: the link module relays it to
 * the network's SASL agent. Set at its init; without it (no links) such a server fails SASL.
 */
export interface SaslRelay {
  authenticate(client: User, arg: string): void;
  /** The mechanisms the agent offers (its MECHLIST), once it said. */
  mechanisms(): string | undefined;
  /** Registration completed in the middle of a relayed exchange: the agent is told it is aborted. */
  abort(client: User): boolean;
}
export const saslRelay = serverSlot<SaslRelay>('sasl-relay');

function handleAuthenticate(server: Server, client: User, arg: string): void | Promise<void> {
  if (!client.hasCap(CAP.sasl)) {
    // Without the capability there is no SASL; 907 tells an authenticated client why.
    if (client.account !== undefined) client.numeric(ERR.SASLALREADY, 'You have already authenticated using SASL');
    else client.numeric(ERR.SASLFAIL, 'SASL authentication failed: request the sasl capability first');
    return;
  }
  if (arg.length > CHUNK) {
    sessions.delete(client);
    client.numeric(ERR.SASLTOOLONG, 'SASL message too long');
    return;
  }
  if (!server.config.accounts.enabled) {
    const relay = saslRelay.get(server);
    if (relay) return relay.authenticate(client, arg);
    client.numeric(ERR.SASLFAIL, 'SASL authentication failed: this server has no accounts and no SASL agent');
    return;
  }
  const session = sessions.get(client);
  if (arg === '*') {
    sessions.delete(client);
    client.numeric(ERR.SASLABORTED, 'SASL authentication aborted');
    return;
  }
  const party = localParty(server, client);
  if (!session) return beginExchange(server, party, arg);
  return continueExchange(server, party, session, arg);
}

export const sasl: Module = {
  name: 'sasl',
  commands: {
    AUTHENTICATE: {
      internal: true,
      minParams: 1,
      preRegistration: true,
      handler: (server, client, msg) => handleAuthenticate(server, client, msg.params[0]!),
      help: [
        'AUTHENTICATE <mechanism> | <base64 data> | + | *',
        'Logs in to an account with SASL (request the sasl capability first). "*" aborts.',
      ],
    },
  },
  // Without accounts here, the agent's mechanisms are offered.
  caps: [{ name: 'sasl', value: (server) => (!server.config.accounts.enabled && saslRelay.get(server)?.mechanisms()) || mechanisms(server) }],
  hooks: {
    // Registration completing in the middle of an exchange aborts it (sasl 3.1).
    registering: (server, client) => {
      if (!sessions.get(client) && !saslRelay.get(server)?.abort(client)) return;
      sessions.delete(client);
      client.numeric(ERR.SASLABORTED, 'SASL authentication aborted');
    },
  },
  init(server) {
    const size = server.config.sasl.failure_tracking;
    failures.set(server, { byIp: new AttemptCounter(size), byAccount: new AttemptCounter(size) });
  },
  close(server) {
    failures.delete(server);
  },
};

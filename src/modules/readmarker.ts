// MARKREAD (IRCv3 draft/read-marker): the time of the last message a user has read, per channel or
// query. Markers of logged-in users belong to the account and are kept in the store (accounts of
// services: in memory); users who are not logged in keep theirs for this connection only (nothing
// else identifies them safely).
// Spec: https://ircv3.net/specs/extensions/read-marker
import { validChannelName } from '../protocol/channelname.js';
import { CAP } from '../server/caps.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { Outgoing } from '../server/outgoing.js';
import { serverSlot, userSlot } from '../server/slots.js';
import type { Server } from '../server/server.js';
import { ReadMarkerStore, type ReadMarker } from '../store/readmarkers.js';
import { parseTimestampRef } from './history/query.js';
import { validNick } from './registration.js';

const stores = serverSlot<ReadMarkerStore>('readmarker');
/** Markers of a connection that is not logged in: casefolded target → marker, least recently set first. */
const connectionMarkerMaps = userSlot<Map<string, ReadMarker>>();
/**
 * Markers of accounts kept by services (with [accounts] enabled = false this server's store has
 * no row for them): in memory until a restart, casefolded account → its markers, the accounts
 * least recently used forgotten first.
 */
const servicesAccountMarkers = serverSlot<Map<string, Map<string, ReadMarker>>>('readmarker-services');
/** Accounts of services whose markers are kept in memory at once. */
const MAX_SERVICES_ACCOUNTS = 10000;

/** The in-memory markers of the client: its connection's, or its services account's; undefined for an account of the store. */
function memoryMarkers(server: Server, client: User): Map<string, ReadMarker> | undefined {
  if (client.account === undefined) return connectionMarkerMaps.getOrCreate(client, () => new Map());
  if (server.config.accounts.enabled) return undefined;
  const accounts = servicesAccountMarkers.getOrCreate(server, () => new Map());
  const key = server.state.fold(client.account);
  const markers = accounts.get(key) ?? new Map<string, ReadMarker>();
  accounts.delete(key); // re-inserted last: the least recently used account is first
  accounts.set(key, markers);
  if (accounts.size > MAX_SERVICES_ACCOUNTS) accounts.delete(accounts.keys().next().value!);
  return markers;
}

function getMarker(server: Server, client: User, target: string): ReadMarker | undefined {
  const key = server.state.fold(target);
  const memory = memoryMarkers(server, client);
  if (memory) return memory.get(key);
  return stores.require(server).get(server.state.fold(client.account!), key);
}

function setMarker(server: Server, client: User, marker: ReadMarker): void {
  const key = server.state.fold(marker.name);
  const keep = server.config.history.read_markers;
  const markers = memoryMarkers(server, client);
  if (!markers) {
    stores.require(server).set(server.state.fold(client.account!), key, marker, keep);
    return;
  }
  markers.delete(key); // re-inserted last: the Map's order is the order markers were set in
  markers.set(key, marker);
  if (markers.size > keep) markers.delete(markers.keys().next().value!);
}

function markreadLine(server: Server, target: string, marker: ReadMarker | undefined) {
  return {
    source: server.name,
    command: 'MARKREAD',
    params: [target, marker ? `timestamp=${new Date(marker.at).toISOString()}` : '*'],
  };
}

/** The client's other sessions sharing its markers (same account) that asked for them. */
function otherSessions(server: Server, client: User): User[] {
  if (client.account === undefined) return [];
  return [...server.state.withAccount(client.account)].filter((c) => c !== client && c.registered && c.hasCap(CAP['draft/read-marker']));
}

function handleMarkread(server: Server, client: User, params: string[]): void {
  const fail = (code: string, ...rest: string[]) => client.standardReply('FAIL', 'MARKREAD', code, ...rest);
  const target = params[0];
  if (target === undefined || target === '') return fail('NEED_MORE_PARAMS', 'Missing parameters');
  if (!validChannelName(target, server.config.channels.types, server.config.limits.channellen) && !validNick(server.config, target))
    return fail('INVALID_PARAMS', target, 'Invalid parameters');
  let stored: ReadMarker | undefined;
  try {
    stored = getMarker(server, client, target);
    if (params.length === 1) return client.send(markreadLine(server, target, stored));
    // '*' is for the server to say "nothing read yet"; a client always names a time.
    const at = parseTimestampRef(params[1]!);
    if (at === undefined) return fail('INVALID_PARAMS', params[1]!, 'Invalid parameters');
    // Markers only move forward, and never past now (the spec suggests clamping to both).
    if (stored && stored.at >= at) return client.send(markreadLine(server, target, stored));
    const marker = { name: target, at: Math.min(at, Date.now()) };
    setMarker(server, client, marker);
    const line = markreadLine(server, target, marker);
    client.send(line);
    client.sendToOtherSessions(new Outgoing(line));
    for (const session of otherSessions(server, client)) session.send(line);
  } catch (err) {
    server.log.error({ conn: client.id, err: (err as Error).message }, 'read marker store failed');
    fail('INTERNAL_ERROR', target, 'The read timestamp could not be set');
  }
}

/**
 * A new session of an account learns every marker at once; otherwise queries would need a
 * MARKREAD get each, and nothing rejoins channels for it here (no always-on sessions).
 */
function sendAllMarkers(server: Server, client: User): void {
  if (!client.hasCap(CAP['draft/read-marker']) || client.account === undefined) return;
  const markers = memoryMarkers(server, client)?.values() ?? stores.require(server).all(server.state.fold(client.account));
  for (const marker of markers) client.send(markreadLine(server, marker.name, marker));
}

export const readmarker: Module = {
  name: 'readmarker',
  commands: {
    MARKREAD: {
      internal: true,
      handler: (server, client, msg) => handleMarkread(server, client, msg.params),
      help: [
        'MARKREAD <target> [timestamp=YYYY-MM-DDThh:mm:ss.sssZ]',
        'Tells the server the time of the last message you read in a channel or query, or asks for it.',
      ],
    },
  },
  caps: [{ name: 'draft/read-marker' }],
  hooks: {
    // The spec asks for the channel's marker after the JOIN and before RPL_ENDOFNAMES.
    joinBurst: (server, client, channel) => {
      if (client.hasCap(CAP['draft/read-marker'])) client.send(markreadLine(server, channel.name, getMarker(server, client, channel.name)));
    },
    registered: sendAllMarkers,
    sessionAttached: sendAllMarkers,
  },
  init(server) {
    stores.set(server, new ReadMarkerStore(server.db));
  },
  close(server) {
    stores.delete(server);
  },
};

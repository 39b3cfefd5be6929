// How clients are spread over generator processes and source addresses.
//
// Each process keeps under maxPerWorker sockets (the fd limit here is 20,000
// per process). Each source address has ~28k ephemeral ports towards one
// server port, and servers often cap connections per IP, so clients can be
// bound round-robin to 127.0.0.1 .. 127.0.0.N (all of 127/8 is loopback).
export const MAX_SOCKETS_PER_WORKER = 18000;
const PORTS_PER_SOURCE = 25000;

export function workerCount(totalSockets, requested, maxPerWorker = MAX_SOCKETS_PER_WORKER) {
  const need = Math.max(1, Math.ceil(totalSockets / maxPerWorker));
  return Math.max(need, Number(requested) || 1);
}

export function sourceIpCount(totalSockets, requested) {
  const need = Math.max(1, Math.ceil(totalSockets / PORTS_PER_SOURCE));
  return Math.max(need, Number(requested) || 1);
}

/** Local address for client `id`, or undefined to let the kernel choose (one source IP). */
export function sourceAddress(id, sourceIps) {
  if (!(sourceIps > 1)) return undefined;
  const k = id % sourceIps; // 127.0.0.1 .. 127.0.0.N, then 127.0.1.x, ...
  return `127.0.${Math.floor(k / 254)}.${(k % 254) + 1}`;
}

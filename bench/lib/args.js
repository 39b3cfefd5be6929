// Minimal argv parser: --key value, --key=value, bare --flag (true), --no-flag (false).
// Numeric-looking values become numbers. Keys may contain dots (run.js uses
// --<entry>.<option> for per-scenario overrides).
export function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    let key = a.slice(2);
    let val;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      val = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else if (key.startsWith('no-')) {
      key = key.slice(3);
      val = false;
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      val = argv[++i];
    } else {
      val = true;
    }
    out[camel(key)] = coerce(val);
  }
  return out;
}

function coerce(v) {
  if (typeof v !== 'string') return v;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
}

// server-pid -> serverPid; the part before a dot (an entry name) is kept as is.
function camel(key) {
  const dot = key.lastIndexOf('.');
  const head = dot >= 0 ? key.slice(0, dot + 1) : '';
  const tail = dot >= 0 ? key.slice(dot + 1) : key;
  return head + tail.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
}

export function parseTarget(s) {
  const str = String(s);
  const i = str.lastIndexOf(':');
  if (i < 0) throw new Error(`--target must be host:port, got ${str}`);
  const port = Number(str.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port in ${str}`);
  return { host: str.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

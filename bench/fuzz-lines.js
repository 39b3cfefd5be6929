// Line generators for fuzzing the daemon (issue #9), shared by the suite's property test
// (test/integration/fuzz.test.ts) and the long run (bench/fuzz.js). Plain JS so bench/ can run
// it with node directly; fuzz-lines.d.ts gives the test its types.
import fc from 'fast-check';

/** Real lines for every module's commands: the seeds the mutations start from. */
export const SEEDS = [
  'JOIN #fuzz,#new key1,key2', 'JOIN 0', 'PART #fuzz :bye', 'MODE #fuzz +ov-b+lk alice bob *!*@* 10 key', 'MODE #fuzz +beI',
  'MODE alice +iw-x', 'MODE #fuzz b', 'PRIVMSG #fuzz,bob :hello', 'PRIVMSG @#fuzz :ops only', 'NOTICE $* :broadcast',
  '@+draft/reply=x;+typing=active TAGMSG #fuzz', 'PRIVMSG bob :\x01ACTION waves\x01', 'WHO #fuzz %tcuihsnfdlaor,42', 'WHO *',
  'WHOIS alice alice', 'WHOWAS bob 5', 'CAP LS 302', 'CAP REQ :sasl multi-prefix -batch', 'CAP END', 'CAP LIST',
  'AUTHENTICATE PLAIN', 'AUTHENTICATE AGFsaWNlAHBhc3N3b3Jk', 'AUTHENTICATE *', 'AUTHENTICATE +', 'METADATA * SET display-name :Fuzz',
  'METADATA #fuzz LIST', 'METADATA * SUB avatar', 'METADATA * SYNC', 'MONITOR + alice,bob,nobody', 'MONITOR L', 'MONITOR S',
  'KICK #fuzz bob :out', 'TOPIC #fuzz :new topic', 'INVITE bob #moderated', 'INVITE', 'KNOCK #keyed :let me in', 'LIST >1,<100,C<5',
  'NAMES #fuzz,#keyed', 'AWAY :gone', 'AWAY', 'SETNAME :New Name', 'CHGHOST bob new.host', 'REGISTER * * password123',
  'VERIFY acct code', 'ACCOUNT LIST', 'KLINE 1h *@fuzz.invalid :fuzz', 'UNKLINE *@fuzz.invalid', 'DLINE 10m 192.0.2.0/24',
  'XLINE evil\\sbot :x', 'KILL bob :fuzz', 'WALLOPS :hi', 'OPER alice wrong', 'STATS k', 'STATS ?', 'LINKS', 'HELP MODE',
  'ISON alice bob', 'USERHOST alice bob', 'MOTD', 'LUSERS', 'VERSION', 'TIME', 'ADMIN', 'INFO', 'NICK fuzzy', 'USER u 0 * :r',
  'PING :x', 'PONG :x', 'BATCH +ml draft/multiline #fuzz', '@batch=ml PRIVMSG #fuzz :line', 'BATCH -ml',
  'CHATHISTORY LATEST #fuzz * 10', 'CHATHISTORY BEFORE #fuzz timestamp=2020-01-01T00:00:00.000Z 5', 'CHATHISTORY TARGETS * * 5',
  'MARKREAD #fuzz timestamp=2030-01-01T00:00:00.000Z', 'REDACT #fuzz msgid :oops', 'RENAME #fuzz #fuzz2 :why', 'REHASH MOTD',
  'USERIP alice', 'CERTFP', 'SAJOIN bob #x', 'QUIT :bye',
];

/** Parameters real clients use, and ones meant to trip parsers. */
const TOKEN = fc.oneof(
  fc.constantFrom('#fuzz', '#Fuzz[1]', '#keyed', '&local', '#', '', '*', '0', '-1', '99999999999999999999', 'alice', 'bob', 'ALICE',
    'nobody', '*!*@*', 'a!b@c', '+ovbkl', '-o+o', '+', '-', ':', '::', ',', ',,,', '#a,#b,,#c', '$*', '@#fuzz', '\x01', '\t',
    '\u{1F600}', 'é', '\uFFFD', 'timestamp=x', 'msgid=', '*', 'x'.repeat(600)),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer().map(String),
);

/** A command (any module's, or not one) with random parameters, and maybe tags. */
export const commandLine = (names) =>
  fc
    .tuple(
      fc.option(fc.dictionary(fc.constantFrom('label', 'batch', '+draft/reply', '+typing', 'msgid', 'time', '+x', 'a'), fc.string({ maxLength: 30 }), { maxKeys: 4 })),
      fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 12 })),
      fc.array(TOKEN, { maxLength: 8 }),
      fc.option(fc.string({ maxLength: 200 })),
    )
    .map(([tags, cmd, params, trailing]) => {
      const tagText = tags ? '@' + Object.entries(tags).map(([k, v]) => `${k}=${v.replace(/[ \r\n;]/g, '\\s')}`).join(';') + ' ' : '';
      return Buffer.from(`${tagText}${[cmd, ...params.filter((p) => p && !p.startsWith(':') && !/[ \r\n]/.test(p))].join(' ')}${trailing === null ? '' : ` :${trailing}`}`);
    });

/** A seed line with characters replaced, inserted, deleted or the line cut short. */
export const mutatedSeed = fc
  .tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('replace', 'insert', 'delete', 'cut')), { maxLength: 6 }))
  .map(([seed, edits]) => {
    const bytes = [...Buffer.from(seed)];
    for (const [at, byte, op] of edits) {
      const i = bytes.length ? at % bytes.length : 0;
      if (op === 'replace') bytes[i] = byte;
      else if (op === 'insert') bytes.splice(i, 0, byte);
      else if (op === 'delete') bytes.splice(i, 1);
      else bytes.length = i;
    }
    return Buffer.from(bytes);
  });

export const hostileLine = fc.oneof(
  fc.uint8Array({ maxLength: 700 }).map((b) => Buffer.from(b)),
  fc.string({ unit: 'binary', maxLength: 300 }).map((s) => Buffer.from(s)),
  fc.constantFrom('', ' ', ':', '@', '@ ', ':src', ':src CMD', '\0', 'PRIVMSG #fuzz :\0x', '@a=b', '@;;; PING x').map((s) => Buffer.from(s)),
  fc.nat(9000).map((n) => Buffer.from(`@+k=${'v'.repeat(n)} PRIVMSG #fuzz :huge tags`)),
  fc.array(fc.constantFrom('x', '#fuzz', 'alice', '+o', ''), { minLength: 15, maxLength: 100 }).map((ps) => Buffer.from(`MODE #fuzz ${ps.join(' ')}`)),
  fc.constantFrom('JOIN', 'PRIVMSG', 'WHO', 'KICK', 'MODE', 'METADATA').map((c) => Buffer.from(`${c} ${Array.from({ length: 100 }, (_, i) => `p${i}`).join(' ')}`)),
  fc.tuple(fc.constantFrom(...SEEDS), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([s, bad]) => Buffer.concat([Buffer.from(s), Buffer.from(bad).map((b) => b | 0x80)])),
);

/**
 * Control characters: CR (most often), LF and NUL, which must never reach another client raw, and
 * others that are relayed as they are (CTCP, colours, escape, line and paragraph separators).
 */
const CONTROL = fc.constantFrom('\r', '\r', '\r', '\r\r', '\n', '\0', '\x01', '\x03', '\x07', '\t', '\x0b', '\x0c', '\x1b', '\x7f', '\u0085', '\u2028');
/** Text with at least one control character in it (and no spaces, so it stays in its field). */
const CONTROL_TEXT = fc
  .tuple(fc.stringMatching(/^[a-z:;=\\]{0,4}$/), CONTROL, fc.array(fc.oneof(CONTROL, fc.stringMatching(/^[a-z:;=\\]{0,4}$/)), { maxLength: 3 }))
  .map(([head, control, rest]) => head + control + rest.join(''));

/** Lines with a "%" in every field that reaches other clients: parameters, trailing text, realname, tag keys and values. */
const CONTROL_TEMPLATES = [
  'PRIVMSG #fuzz :%', 'PRIVMSG #fuzz,alice :a % b', 'NOTICE #fuzz :%', 'PRIVMSG alice :%', 'TOPIC #fuzz :%', 'AWAY :%',
  'SETNAME :%', 'USER u% 0 * :real % name', 'NICK fz%', 'METADATA * SET display-name :%', 'METADATA #fuzz SET url :%',
  '@+%=v PRIVMSG #fuzz :tagged', '@+draft/reply=%;+k%=% TAGMSG #fuzz', '@+x=%\\r%\\n PRIVMSG #fuzz :escaped CR and LF',
  '@label=%;+% PING :x', '@batch=% PRIVMSG #fuzz :%', 'INVITE alice #fuzz%', 'KNOCK #keyed :%', 'WALLOPS :%',
  'CHGHOST alice %', 'PART #Fuzz[1] :%', 'QUIT :%',
];

/** A template with control characters in each of its fields. */
export const controlLine = fc
  .tuple(fc.constantFrom(...CONTROL_TEMPLATES), fc.array(CONTROL_TEXT, { minLength: 4, maxLength: 4 }))
  .map(([template, fields]) => {
    let i = 0;
    return Buffer.from(template.replace(/%/g, () => fields[i++ % fields.length]));
  });

/** Any fuzz line: mutated seeds, commands with random parameters, hostile bytes, control characters. */
export const fuzzLine = (names) =>
  fc.oneof(
    { weight: 3, arbitrary: mutatedSeed },
    { weight: 3, arbitrary: commandLine(names) },
    { weight: 2, arbitrary: hostileLine },
    { weight: 2, arbitrary: controlLine },
  );

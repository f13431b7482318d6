// rac admin audit: the broker's audit log (admin only). A table newest first, or JSON lines with
// --json; --follow prints the last events oldest first, then new ones as they come (polling with
// the id cursor), until interrupted.
import { Command, Option } from 'commander';
import type { AuditEntry, AuditQuery, BrokerClient } from '../client/broker-client.js';
import { terminalSafe } from '../protocol/display-text.js';
import { withLogin } from './broker-call.js';
import { usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { parseDuration } from './option-parsers.js';
import { say } from './output.js';

/** How often --follow asks the broker for new events. */
export const FOLLOW_INTERVAL_MS = 2000;
const MAX_PAGE = 1000;

interface AuditOptions {
  since?: string;
  until?: string;
  user?: string;
  action?: string;
  limit: number;
  before?: number;
  json?: boolean;
  follow?: boolean;
}

/** "1d", "90m" (that long ago) or an ISO 8601 time → ISO 8601. */
export function parseSince(option: string, now = Date.now) {
  return (text: string): string => {
    if (/^\d+(?:\.\d+)?(ms|s|m|h|d)?$/.test(text.trim())) return new Date(now() - parseDuration(option)(text)).toISOString();
    const ms = Date.parse(text);
    if (Number.isNaN(ms))
      throw usageError(`${option}: expected a duration ago (1d, 2h, 30m) or a time (2026-01-31T10:30:00Z), got "${text}"`);
    return new Date(ms).toISOString();
  };
}

const positive = (option: string, max: number) => (text: string) => {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw usageError(`${option}: expected a number 1-${max}, got "${text}"`);
  return n;
};

export function auditCommand(io: CommandIo): Command {
  return new Command('audit')
    .description('show the audit log: logins, user and SMTP changes, sessions and who joined them (admin only)')
    .option(
      '--since <when>',
      'only events since then: a duration ago (1d, 2h, 30m) or a time (2026-01-31T10:30:00Z)',
      parseSince('--since'),
    )
    .option('--until <when>', 'only events before then (same forms as --since)', parseSince('--until'))
    .option('--user <email>', "only events done by this user (the actor's email)")
    .option('--action <action>', 'only this action (auth.login_failed), or a whole area (session)')
    .addOption(new Option('--limit <n>', 'at most this many events').argParser(positive('--limit', MAX_PAGE)).default(50))
    .option('--before <id>', 'only events older than this id (the next page)', positive('--before', Number.MAX_SAFE_INTEGER))
    .option('--json', 'one JSON object per event and line')
    .option('--follow', `keep printing new events (asks every ${FOLLOW_INTERVAL_MS / 1000} s) until interrupted`)
    .action((opts: AuditOptions) =>
      withLogin(io, async (client) => {
        const query: AuditQuery = { since: opts.since, until: opts.until, user: opts.user, action: opts.action, limit: opts.limit };
        if (opts.follow) return follow(io, client, query, opts.json ?? false);
        const page = await client.audit({ ...query, before: opts.before });
        printEntries(io, page.entries, opts.json ?? false, true);
        if (page.next_before !== null) say(io, `More events: add --before ${page.next_before}`);
      }),
    );
}

async function follow(io: CommandIo, client: BrokerClient, query: AuditQuery, json: boolean): Promise<never> {
  const first = await client.audit(query);
  printEntries(io, [...first.entries].reverse(), json, true);
  let last = first.entries[0]?.id ?? (await client.audit({ limit: 1 })).entries[0]?.id ?? 0;
  for (;;) {
    await new Promise((done) => setTimeout(done, FOLLOW_INTERVAL_MS));
    // Newest first from the broker: read pages back to `last`, then print them oldest first.
    const fresh: AuditEntry[] = [];
    for (let before: number | undefined; ;) {
      const page = await client.audit({ ...query, since: undefined, after: last, before, limit: MAX_PAGE });
      fresh.push(...page.entries);
      if (page.next_before === null) break;
      before = page.next_before;
    }
    printEntries(io, fresh.reverse(), json, false);
    last = fresh.at(-1)?.id ?? last;
  }
}

const COLUMNS: [string, number][] = [
  ['ID', 6],
  ['AT', 20],
  ['ACTION', 24],
  ['ACTOR', 28],
  ['ADDRESS', 16],
  ['TARGET', 14],
  ['DETAIL', 0],
];

/** Fixed-width columns, so that --follow's later lines line up with the first ones. */
function printEntries(io: CommandIo, entries: AuditEntry[], json: boolean, header: boolean): void {
  if (json) {
    for (const entry of entries) io.stdout.write(`${JSON.stringify(entry)}\n`);
    return;
  }
  const line = (cells: string[]) =>
    `${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(COLUMNS[i]![1]))).join('  ')}`.trimEnd();
  if (header) io.stdout.write(`${line(COLUMNS.map(([name]) => name))}\n`);
  for (const e of entries) {
    const target = e.target_type ? `${e.target_type}${e.target_id ? ` ${e.target_id}` : ''}` : '-';
    const detail = e.detail ? JSON.stringify(e.detail) : '-';
    // Emails, detail and addresses come from other parties: no control characters on the terminal.
    const cells = [String(e.id), e.at, e.action, e.actor_email ?? '-', e.address ?? '-', target, detail].map((cell) => terminalSafe(cell));
    io.stdout.write(`${line(cells)}\n`);
  }
}

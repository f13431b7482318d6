// rac serve's options for several nodes on one PostgreSQL database: --node-id, --relay-host,
// --internal-url, --key-file, and --migrate-from (copy a one-machine broker's data, then exit).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { usageError } from './cli-error.js';

export interface ClusterOptions {
  nodeId?: string;
  relayHost?: string;
  internalUrl?: string;
  keyFile?: string;
  migrateFrom?: string;
}

/** Letters, digits and `.:_-`: it appears in logs and pg_stat_activity. */
function parseNodeId(text: string): string {
  if (!/^[A-Za-z0-9._:-]{1,50}$/.test(text)) {
    throw usageError(`--node-id: 1-50 letters, digits, dots, colons, underscores or dashes, got "${text}"`);
  }
  return text;
}

function parseInternalUrl(text: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw usageError(`--internal-url: expected http://HOST:PORT or https://HOST:PORT, got "${text}"`);
  }
  return text.replace(/\/+$/, '');
}

function parseRelayHost(text: string): string {
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(text)) throw usageError(`--relay-host: expected a host name or IP address, got "${text}"`);
  // Clients get the bare address: an IPv6 one without its URL brackets.
  return text.replace(/^\[(.*)\]$/, '$1');
}

export function addClusterOptions(command: Command): Command {
  return command
    .option('--node-id <id>', "this node's name among the nodes of one database (default: HOSTNAME:PORT)", parseNodeId)
    .option(
      '--relay-host <host>',
      "the address UDP clients send this node's session datagrams to (default with --database: the host of --public-url)",
      parseRelayHost,
    )
    .option(
      '--internal-url <url>',
      'where the other nodes reach this one to pass it WebSockets (default: its listen address)',
      parseInternalUrl,
    )
    .option(
      '--key-file <file>',
      'with --database: seal the secrets kept in the database with this key (created 0600 when missing; the same file on every node)',
      (text: string) => resolve(text),
    )
    .option(
      '--migrate-from <sqlite:PATH>',
      "with --database: copy an embedded broker's users, SMTP settings and live sessions into the empty database, then exit",
    );
}

/** --key-file and --migrate-from are about a PostgreSQL database: refused before any start without one. */
export function checkClusterOptions(opts: ClusterOptions, databaseUrl: string | undefined): void {
  if (databaseUrl) return;
  if (opts.keyFile)
    throw usageError(
      '--key-file seals the secrets kept in PostgreSQL: give --database URL (with SQLite the keys are files in the data dir)',
    );
  if (opts.migrateFrom) throw usageError('--migrate-from copies into PostgreSQL: give --database URL (or RAC_DATABASE_URL)');
}

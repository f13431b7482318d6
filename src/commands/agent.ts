// rac agent: without --code, the always-on Openctrol API (Home Assistant) on port 44325; with
// --code, the customer's side of a support session (agent-code.ts), which listens on no port
// unless --openctrol asks for the API alongside.
import type { OpenctrolContext } from '../agent/openctrol/context.js';
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadAgentConfig } from '../agent/openctrol/agent-config.js';
import { dryRunExecutor, runPowerCommand } from '../agent/openctrol/power.js';
import { DEFAULT_WOL_BROADCAST, type WolTarget, parseBroadcast, parseMac } from '../agent/openctrol/wake-on-lan.js';
import { runAgentSession, sessionOnlyOptions, sessionOptions } from './agent-code.js';
import { CliError, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { defaultConfigDir, parsePort } from './option-parsers.js';

export interface AgentOptions {
  code?: string;
  server?: string;
  yes: boolean;
  viewOnly: boolean;
  /** --openctrol (true), --no-openctrol (false), neither (undefined): serve the API without --code only. */
  openctrol?: boolean;
  openctrolPort: number;
  openctrolHost: string;
  apiKey?: string;
  apiKeyFile?: string;
  configDir: string;
  tlsCert?: string;
  tlsKey?: string;
  wolMac?: Buffer;
  wolBroadcast: { address: string; port: number };
  powerDryRun: boolean;
  fps: number;
  quality: number;
  /** --code only: shrink frames wider than this. */
  maxWidth?: number;
  /** --code only: JPEG bytes per UDP datagram. */
  chunkSize?: number;
  /** --code only: the CA file for an https broker signed by a private CA (else RAC_CA_FILE). */
  caFile?: string;
  /** --code only: IT members may ask for a terminal and file transfers. */
  allowShell?: boolean;
  /** Failed authentications per address per minute before it must wait. */
  authFailLimit: number;
  /** WebSocket ping interval in ms (peers that miss one are dropped). */
  wsHeartbeat: number;
  /** Print the user unit for these options instead of running. */
  printSystemdUnit?: boolean;
}

const intIn = (option: string, min: number, max: number) => (text: string) => {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw usageError(`${option}: expected a whole number ${min}-${max}, got "${text}"`);
  return n;
};

const wrap =
  <T>(option: string, parse: (text: string) => T) =>
  (text: string): T => {
    try {
      return parse(text);
    } catch (err) {
      throw usageError(`${option}: ${(err as Error).message}`);
    }
  };

export function agentCommand(io: CommandIo, version: string): Command {
  const command = new Command('agent')
    .description(
      "run on the computer to control: the Openctrol API for Home Assistant (port 44325); with --code, the customer's side of a session",
    )
    .option('--code <code>', "join a support session with this code (the customer's side)")
    .option('--server <url>', 'broker URL for --code')
    .option('--yes', 'with --code: allow without asking', false)
    .option('--view-only', 'with --code: never inject input', false)
    .option('--openctrol', 'with --code: also serve the Openctrol API (it listens on --openctrol-port)')
    .option('--no-openctrol', 'do not serve the Openctrol API')
    .option('--openctrol-port <port>', 'Openctrol API port', parsePort('--openctrol-port'), 44325)
    .option('--openctrol-host <host>', 'address the Openctrol API listens on', '0.0.0.0')
    .option('--api-key <key>', 'Openctrol API key (default: the one stored in the config file, generated on first start)')
    .option('--api-key-file <file>', 'read the Openctrol API key from this file')
    .option('--config-dir <dir>', 'where agent.json (agent id, generated key) lives (default: $XDG_CONFIG_HOME/rac)')
    .option('--tls-cert <file>', 'serve HTTPS/WSS with this certificate (PEM)')
    .option('--tls-key <file>', 'private key (PEM) for --tls-cert')
    .option('--wol-mac <mac>', 'MAC address the "wol" power action wakes', wrap('--wol-mac', parseMac))
    .option(
      '--wol-broadcast <address[:port]>',
      `where the Wake-on-LAN packet goes (default ${DEFAULT_WOL_BROADCAST}:9)`,
      wrap('--wol-broadcast', parseBroadcast),
    )
    .option('--print-systemd-unit', 'print a systemd user unit that runs the Openctrol agent with these options, and exit')
    .option('--power-dry-run', 'print the restart/shutdown command instead of running it', false)
    .option('--fps <n>', 'frames per second for remote desktop', intIn('--fps', 1, 60), 15)
    .option('--quality <n>', 'JPEG quality 1-100', intIn('--quality', 1, 100), 60)
    .addOption(
      new Option('--ws-heartbeat <ms>', 'WebSocket ping interval; a silent peer is dropped')
        .argParser(intIn('--ws-heartbeat', 100, 3_600_000))
        .default(15_000)
        .hideHelp(),
    )
    .addOption(
      new Option('--auth-fail-limit <n>', 'failed authentications per address per minute')
        .argParser(intIn('--auth-fail-limit', 1, 1_000_000))
        .default(20)
        .hideHelp(),
    );
  for (const option of sessionOnlyOptions()) command.addOption(option);
  return command.action(async (opts: Partial<AgentOptions>) => {
    await runAgent(
      {
        code: opts.code,
        server: opts.server,
        yes: opts.yes ?? false,
        viewOnly: opts.viewOnly ?? false,
        openctrol: opts.openctrol,
        openctrolPort: opts.openctrolPort ?? 44325,
        openctrolHost: opts.openctrolHost ?? '0.0.0.0',
        apiKey: opts.apiKey,
        apiKeyFile: opts.apiKeyFile,
        configDir: resolve(opts.configDir ?? defaultConfigDir(io.env)),
        tlsCert: opts.tlsCert,
        tlsKey: opts.tlsKey,
        wolMac: opts.wolMac,
        wolBroadcast: opts.wolBroadcast ?? parseBroadcast(DEFAULT_WOL_BROADCAST),
        powerDryRun: opts.powerDryRun ?? false,
        fps: opts.fps ?? 15,
        quality: opts.quality ?? 60,
        maxWidth: opts.maxWidth,
        chunkSize: opts.chunkSize,
        caFile: opts.caFile,
        allowShell: opts.allowShell ?? false,
        authFailLimit: opts.authFailLimit ?? 20,
        wsHeartbeat: opts.wsHeartbeat ?? 15_000,
        printSystemdUnit: opts.printSystemdUnit,
      },
      io,
      version,
    );
  });
}

export async function runAgent(options: AgentOptions, io: CommandIo, version: string): Promise<void> {
  if (options.printSystemdUnit) return void io.stdout.write((await import('./agent-unit.js')).agentUnit(options));
  if (options.code !== undefined) {
    // The customer's command opens no listening port unless asked: the API only with --openctrol.
    const companion = options.openctrol === true ? () => startOpenctrolApi(options, io, version) : undefined;
    return runAgentSession(sessionOptions(options, io.env), io, companion);
  }
  if (options.openctrol === false) throw usageError('nothing to do: --no-openctrol without --code');
  const api = await startOpenctrolApi(options, io, version);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  io.stderr.write(`rac agent: ${signal}, shutting down\n`);
  await api.close();
}

/**
 * Starts the Openctrol API from the command's options and prints where it listens and how it is
 * secured; `close()` releases held input and stops it. The --code mode can run it alongside.
 */
export async function startOpenctrolApi(options: AgentOptions, io: CommandIo, version: string): Promise<{ close(): Promise<void> }> {
  const say = (line: string) => io.stderr.write(`${line}\n`);
  if (options.apiKey !== undefined && options.apiKeyFile !== undefined) throw usageError('give --api-key or --api-key-file, not both');
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) throw usageError('--tls-cert and --tls-key go together');

  let config;
  try {
    config = loadAgentConfig(options.configDir, { apiKey: options.apiKey, apiKeyFile: options.apiKeyFile });
  } catch (err) {
    throw new CliError(`config: ${(err as Error).message}`);
  }
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (options.tlsCert && options.tlsKey) {
    try {
      tls = { cert: readFileSync(options.tlsCert), key: readFileSync(options.tlsKey) };
    } catch (err) {
      throw new CliError(`TLS: ${(err as Error).message}`);
    }
  }
  const wol: WolTarget | null = options.wolMac ? { mac: options.wolMac, ...options.wolBroadcast } : null;
  const log = (message: string) => say(`rac agent: ${message}`);

  // Loaded on demand: fastify and the desktop engine would slow every other command's start.
  const { startOpenctrolAgent } = await import('../agent/openctrol/start.js');
  const agent = await startOpenctrolAgent({
    host: options.openctrolHost,
    port: options.openctrolPort,
    agentId: config.agentId,
    apiKey: config.apiKey,
    version,
    tls,
    wol,
    powerExecutor: options.powerDryRun ? dryRunExecutor(say) : runPowerCommand,
    fps: options.fps,
    quality: options.quality,
    authFailLimit: options.authFailLimit,
    heartbeatMs: options.wsHeartbeat,
    env: io.env,
    log,
  });
  say(`rac agent: Openctrol API listening on ${agent.url.replace(/^(https?:\/\/)127\.0\.0\.1/, `$1${options.openctrolHost}`)}`);
  say(`  agent id ${config.agentId}   config ${config.file}`);
  if (config.keySource === 'generated')
    say(`  API key generated and stored in ${config.file} (mode 0600): read it from there for Home Assistant`);
  else if (config.keySource === 'config') say(`  API key: the one stored in ${config.file}`);
  else say(`  API key: from ${config.keySource === 'option' ? '--api-key' : options.apiKeyFile}`);
  if (config.apiKey.length < 16) say('  warning: the API key is shorter than 16 characters: use a long random key');
  const ctx = agent.context;
  say(
    `  remote desktop: ${ctx.engine ? `capture with ${agent.encoder}, ${options.fps} fps, quality ${options.quality}` : `unavailable (${ctx.engineUnavailableReason})`}`,
  );
  say(`  audio: ${await describeAudio(ctx)}`);
  say(
    `  power: ${options.powerDryRun ? 'dry run (commands are printed, not run)' : 'restart/shutdown enabled'}   Wake-on-LAN: ${wol ? `${options.wolBroadcast.address}:${options.wolBroadcast.port}` : 'not configured (--wol-mac)'}`,
  );
  if (!tls && options.openctrolHost !== '127.0.0.1' && options.openctrolHost !== '::1') {
    say('  note: plain HTTP: the API key crosses the network unencrypted; use --tls-cert/--tls-key outside a trusted LAN');
  }

  return {
    async close() {
      ctx.engine?.input.releaseAll();
      await agent.close().catch((err: Error) => say(`rac agent: error while shutting down: ${err.message}`));
    },
  };
}

/** The backend's name only when a sound server answers now; otherwise why not (the API answers 503 until one does). */
async function describeAudio(ctx: Pick<OpenctrolContext, 'audio' | 'audioUnavailableReason'>): Promise<string> {
  if (!ctx.audio) return `unavailable (${ctx.audioUnavailableReason})`;
  try {
    await ctx.audio.status();
    return ctx.audio.name;
  } catch (err) {
    return `not answering: no sound server (${(err as Error).message}); /audio answers 503 until ${ctx.audio.name} runs`;
  }
}

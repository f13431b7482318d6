// rac agent --print-systemd-unit: the Openctrol agent's user unit, its ExecStart spelled out from
// the options of this command line (paths absolute). A key given on the command line is refused:
// the unit file would show it to every user of the machine.
import { resolve } from 'node:path';
import type { AgentOptions } from './agent.js';
import { usageError } from './cli-error.js';
import { agentUserUnit } from './systemd-units.js';

export function agentArguments(options: AgentOptions): string[] {
  const optional = (flag: string, value: string | undefined) => (value ? [flag, value] : []);
  const mac = options.wolMac ? [...options.wolMac].map((byte) => byte.toString(16).padStart(2, '0')).join(':') : undefined;
  return [
    'agent',
    ...['--openctrol-port', String(options.openctrolPort), '--openctrol-host', options.openctrolHost],
    ...['--config-dir', options.configDir],
    ...optional('--api-key-file', options.apiKeyFile && resolve(options.apiKeyFile)),
    ...optional('--tls-cert', options.tlsCert && resolve(options.tlsCert)),
    ...optional('--tls-key', options.tlsKey && resolve(options.tlsKey)),
    ...optional('--wol-mac', mac),
    ...['--wol-broadcast', `${options.wolBroadcast.address}:${options.wolBroadcast.port}`],
    ...(options.powerDryRun ? ['--power-dry-run'] : []),
    ...['--fps', String(options.fps), '--quality', String(options.quality)],
  ];
}

export function agentUnit(options: AgentOptions): string {
  if (options.code !== undefined) {
    throw usageError('--print-systemd-unit is for the always-on Openctrol agent: a session (--code) is run by the customer, not a service');
  }
  if (options.apiKey !== undefined) {
    throw usageError('--api-key would be written into the unit, readable by every user: use --api-key-file, or the key the agent stores');
  }
  return agentUserUnit(agentArguments(options));
}

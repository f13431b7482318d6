// Hardened systemd units for `rac serve` (a system service) and the Openctrol agent (a user service:
// it needs the desktop session's DISPLAY). Pure text from the command's own options, printed by
// --print-systemd-unit; the sandbox lines are the same for everyone, the ExecStart is what was asked.
import { fileURLToPath } from 'node:url';

/** This installation's `rac` script: dist/commands/ → bin/rac.js. */
export const RAC_SCRIPT = fileURLToPath(new URL('../../bin/rac.js', import.meta.url));

/** Where systemd's StateDirectory=rac puts the broker's data dir. */
export const SERVICE_DATA_DIR = '/var/lib/rac';

/**
 * The broker unit's environment file (root's, mode 0600): RAC_DATABASE_URL, RAC_ADMIN_PASSWORD.
 * Secrets go there, never into the unit, which every user can read.
 */
export const SERVICE_ENV_FILE = '/etc/rac/serve.env';

/** One ExecStart word as systemd reads it: quoted when needed, `%` and `$` not expanded. */
export function execWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[\w@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const execStart = (args: string[]) => ['ExecStart=' + [process.execPath, RAC_SCRIPT, ...args].map(execWord).join(' ')];

/** A path under a home directory is hidden by ProtectHome=yes: then the homes stay readable, not writable. */
const underHome = (path: string) => /^\/(home|root|run\/user)(\/|$)/.test(path);

/**
 * The environment file line: optional for a broker on SQLite; required (a missing file stops the
 * start) for a node on PostgreSQL, which must not come up on a SQLite database of its own.
 */
const environmentFile = (database: boolean) => [
  ...(database ? [`# ${SERVICE_ENV_FILE} (root, mode 0600) must hold RAC_DATABASE_URL=postgres://…`] : []),
  `EnvironmentFile=${database ? '' : '-'}${SERVICE_ENV_FILE}`,
];

/** The system unit of the broker: its own dynamic user, state in /var/lib/rac, nothing else writable. */
export function brokerUnit(args: string[], options: { port: number; paths: string[]; database?: boolean }): string {
  const lowPort = options.port > 0 && options.port < 1024;
  const homeRead = [RAC_SCRIPT, process.execPath, ...options.paths].some(underHome);
  return [
    '# rac broker: install as /etc/systemd/system/rac.service (see man rac-serve, "Running as a service")',
    '[Unit]',
    'Description=rac broker (REST API, session WebSocket, UDP relay)',
    'Documentation=man:rac-serve(1)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    ...execStart(args),
    ...environmentFile(options.database === true),
    // SIGHUP re-reads the TLS certificate; sessions stay up.
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=2s',
    // A user of its own: a static "rac" user is used when one exists (for group-readable TLS keys).
    'DynamicUser=yes',
    'User=rac',
    'Group=rac',
    'StateDirectory=rac',
    'StateDirectoryMode=0700',
    // npm pack (the customers' package) needs a cache; the home of a dynamic user is not writable.
    'CacheDirectory=rac',
    'Environment=npm_config_cache=%C/rac/npm',
    `Environment=PATH=${pathWithNode()}`,
    'UMask=0077',
    'ProtectSystem=strict',
    `ProtectHome=${homeRead ? 'read-only' : 'yes'}`,
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'NoNewPrivileges=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    `CapabilityBoundingSet=${lowPort ? 'CAP_NET_BIND_SERVICE' : ''}`,
    ...(lowPort ? ['AmbientCapabilities=CAP_NET_BIND_SERVICE'] : []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The user unit of the Openctrol agent: it runs in the desktop session, as the person logged in. */
export function agentUserUnit(args: string[]): string {
  return [
    '# rac agent (Openctrol API): a USER unit, it needs the desktop session (DISPLAY, the sound server).',
    '# Install as ~/.config/systemd/user/rac-agent.service, then: systemctl --user enable --now rac-agent',
    '# The session must hand DISPLAY to the user manager (most desktops do; otherwise run',
    '# `systemctl --user import-environment DISPLAY XAUTHORITY` from the session start-up). See man rac-agent.',
    '[Unit]',
    'Description=rac agent (Openctrol API for Home Assistant)',
    'Documentation=man:rac-agent(1)',
    'PartOf=graphical-session.target',
    'After=graphical-session.target',
    '',
    '[Service]',
    'Type=simple',
    ...execStart(args),
    'Restart=on-failure',
    'RestartSec=5s',
    'UMask=0077',
    'NoNewPrivileges=yes',
    'LockPersonality=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    // X11, PulseAudio and D-Bus are Unix sockets; the API and Wake-on-LAN are IPv4/IPv6.
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    '',
    '[Install]',
    'WantedBy=graphical-session.target',
    '',
  ].join('\n');
}

/** PATH for the service: node's own directory first (npm for the customers' package), then the system's. */
function pathWithNode(): string {
  const nodeDir = process.execPath.replace(/\/[^/]+$/, '');
  return [nodeDir, '/usr/local/bin', '/usr/bin', '/bin'].filter((dir, i, all) => all.indexOf(dir) === i).join(':');
}

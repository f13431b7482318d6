#!/usr/bin/env node
// `npm test` must work on a fresh clone: install npm dependencies when they are missing or stale,
// install the system packages the suite needs (as root, with apt-get), then build dist/.
// Plain JavaScript with no dependencies, because it runs before node_modules exists.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const step = (msg) => process.stderr.write(`[prepare] ${msg}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });

// Debian package → a command it provides (checked with `command -v`).
export const SYSTEM_PACKAGES = {
  // CLI tests (issue 7): a headless Secret Service, a real terminal, the README example, zsh completion.
  dbus: 'dbus-daemon',
  'gnome-keyring': 'gnome-keyring-daemon',
  tmux: 'tmux',
  jq: 'jq',
  zsh: 'zsh',
  'groff-base': 'groff',
  // agent tests: a real X display with two RandR monitors, input checks, a real PulseAudio daemon
  xvfb: 'Xvfb',
  'x11-xserver-utils': 'xrandr',
  'x11-utils': 'xwininfo',
  xdotool: 'xdotool',
  xterm: 'xterm',
  imagemagick: 'display',
  pulseaudio: 'pulseaudio',
  'pulseaudio-utils': 'pactl',
  openssl: 'openssl', // self-signed certificates: the SMTP tests and the agent's HTTPS test
  // rac view tests (issue 6): tmux (above) for blocks; sixel in xterm -ti vt340 and the kitty
  // graphics protocol in a real kitty, both under Xvfb, with import (imagemagick) screenshots.
  kitty: 'kitty',
  procps: 'pgrep',
  tcpdump: 'tcpdump', // the end-to-end security test captures what crosses the network
  // rac shell/cp/tunnel: OpenSSH's own clients through `rac tunnel`; sshd is the benchmark's baseline
  'openssh-client': 'sftp',
  'openssh-server': 'sshd',
  rsync: 'rsync',
  xclip: 'xclip', // the agent's X11 clipboard
  iproute2: 'tc', // a lossy link (netem) for adaptive quality
  systemd: 'systemd-analyze', // generated service units are verified
  postgresql: 'pg_ctlcluster', // the broker suite also runs on a throwaway PostgreSQL cluster (initdb)
};

function installNodeModules() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  step('installing npm dependencies (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function installSystemPackages() {
  const missing = Object.entries(SYSTEM_PACKAGES)
    .filter(([, cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0)
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    step(`missing system packages: ${missing.join(' ')}. Install them (apt-get install ${missing.join(' ')}) or run as root.`);
    process.exit(1);
  }
  step(`installing system packages: ${missing.join(' ')}…`);
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

installNodeModules();
installSystemPackages();
step('building dist/ (tsc)…');
run('npx', ['tsc', '-p', 'tsconfig.json']);

// `rac tunnel` against a real `rac serve` and a WebSocket-level agent double: the known_hosts line,
// stdin/stdout bridged to the tunnel (the built `rac` as a child process, as OpenSSH runs it), and
// the exit codes and messages of each refusal.
import './helpers/quiet-home.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import type { Session } from '../src/protocol/broker-api.js';
import { codeFromHost, hostOfCode } from '../src/commands/tunnel.js';
import { RAC_BIN, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { firstLine, loggedInEnv, rac } from './helpers/cli.js';
import { PATIENCE_MS } from './helpers/patience.js';
import { type TunnelAgentOptions, joinTunnelAgent } from './helpers/tunnel-agent.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const admin = await login(broker.api);
await call(broker.api, 'POST', '/users', { token: admin, body: { email: 'tina@example.com', password: 'tina-password-1' } });
const tech = await login(broker.api, 'tina@example.com', 'tina-password-1');
const env = await loggedInEnv(broker.url, 'tina@example.com', 'tina-password-1');

async function sessionWithAgent(t: Test, options: TunnelAgentOptions = {}) {
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: tech, body: { customer_name: 'Carl' } })).body;
  t.teardown(() => call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: admin }));
  const agent = await joinTunnelAgent(broker.url, session.session_code, options);
  t.teardown(() => agent.close());
  return { session, agent };
}

t.test('--print-host-key prints the known_hosts line of the agent', async (t) => {
  const { session, agent } = await sessionWithAgent(t);
  const spaced = session.session_code.replace(/(\d{3})(\d{3})(\d{3})/, '$1 $2 $3');
  const result = await rac(['tunnel', '--print-host-key', spaced], { env });
  t.equal(result.code, 0, result.stderr);
  // OpenSSH reads a host of digits alone as an IPv4 address (inet_aton: octal after a leading zero),
  // hands it to ProxyCommand as a dotted quad and looks that up in known_hosts: the line names both.
  const quad = hostOfCode(session.session_code);
  const names = quad ? `${session.session_code},${quad}` : session.session_code;
  t.equal(result.stdout, `${names} ${agent.hostKey}\n`);
  if (quad) {
    const viaSsh = await rac(['tunnel', '--print-host-key', quad], { env });
    t.equal(viaSsh.stdout, `${names} ${agent.hostKey}\n`, `${quad} is read back as the code`);
  }
});

t.test("a code and the address OpenSSH reads it as, both ways (inet_aton's decimal and octal)", async (t) => {
  const cases: [string, string | undefined][] = [
    ['123456789', '7.91.205.21'],
    ['572901907', '34.37.202.19'],
    ['999999999', '59.154.201.255'],
    ['100000000', '5.245.225.0'],
    ['012345670', '0.41.203.184'],
    ['000000000', '0.0.0.0'],
    ['012345678', undefined], // not octal: OpenSSH keeps it a name
  ];
  for (const [code, quad] of cases) {
    t.equal(hostOfCode(code), quad, `${code} → ${quad ?? 'a name'}`);
    if (quad) t.equal(codeFromHost(quad), code, `${quad} → ${code}`);
  }
});

t.test('stdin and stdout carry the bytes; the status line goes to stderr', async (t) => {
  const { session } = await sessionWithAgent(t);
  const child = spawn(process.execPath, [RAC_BIN, 'tunnel', session.session_code], { env, stdio: 'pipe' });
  t.teardown(() => child.kill());
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const payload = randomBytes(100_000);
  const echoed = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const timer = setTimeout(() => reject(new Error(`no echo after ${PATIENCE_MS} ms: ${stderr}`)), PATIENCE_MS);
    child.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
      have += d.length;
      if (have >= payload.length) {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      }
    });
  });
  child.stdin.write(payload);
  t.ok((await echoed).equals(payload), 'the agent echo came back on stdout, byte for byte');
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.end();
  t.equal(await exited, 0, 'the end of stdin ends the tunnel and rac tunnel');
  t.match(stderr, /host key SHA256:[A-Za-z0-9+/]{43}; SSH user tina@example\.com/);
});

t.test('refusals: exit 3 when the customer says no or the session is not ours, 4 when it does not exist', async (t) => {
  const { session } = await sessionWithAgent(t, { answer: { refuse: 'declined' } });
  const declined = await rac(['tunnel', session.session_code], { env });
  t.equal(declined.code, 3);
  t.match(firstLine(declined.stderr), /did not allow a terminal.*--allow-shell/);
  t.equal(declined.stdout, '', 'nothing on stdout');

  const adminsOwn = (await call<Session>(broker.api, 'POST', '/sessions', { token: admin, body: { customer_name: 'Ann' } })).body;
  t.teardown(() => call(broker.api, 'DELETE', `/sessions/${adminsOwn.id}`, { token: admin }));
  const forbidden = await rac(['tunnel', adminsOwn.session_code], { env });
  t.equal(forbidden.code, 3);
  t.match(firstLine(forbidden.stderr), /tina@example\.com.*belongs to another user/);

  const unknown = await rac(['tunnel', '000000001'], { env });
  t.equal(unknown.code, 4);
  t.match(firstLine(unknown.stderr), /Session not found/);

  const usage = await rac(['tunnel', '12345'], { env });
  t.equal(usage.code, 2);
});

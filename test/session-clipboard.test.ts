// The clipboard, both ways, through the real thing: a real `rac serve`, a real `rac agent --code`
// on Xvfb (asked for consent on a pty) and `rac view` in tmux with set-clipboard on. A copy on the
// remote X display becomes a tmux buffer (the viewer's OSC 52), sanitised; a bracketed paste into
// the viewer lands on the remote X clipboard; nothing flows before consent (what was copied
// before is never sent); 1 MiB, the cap, arrives whole; over it, both people are told and nothing
// is sent; --paste type types.
import t, { type Test } from 'tap';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RAC_BIN, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { PATIENCE_MS } from './helpers/patience.js';
import { MAX_CLIPBOARD_BYTES } from '../src/protocol/clipboard-datagram.js';
import { createSession, startAgent } from './helpers/session-viewer.js';
import { Tmux } from './helpers/viewer-tmux.js';
import { type Xvfb, startCatTerminal, startXvfb } from './helpers/xvfb.js';

async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, term?: Tmux): Promise<T> {
  const until = Date.now() + PATIENCE_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until)
      throw new Error(
        `timed out waiting for ${what}${term ? `; the viewer's last row:\n${term.capture(false).trimEnd().split('\n').pop()}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** xclip forks a child that serves the selection: only its stdin is connected, its exit is the end. */
function copyOnRemote(xvfb: Xvfb, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('xclip', ['-selection', 'clipboard', '-i'], { env: xvfb.env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`xclip exited ${code}`))));
    child.stdin.end(text);
  });
}

/** One read of the remote X clipboard: its bytes, empty when it is, undefined when xclip timed out. */
const readRemote = (xvfb: Xvfb) =>
  new Promise<Buffer | undefined>((resolve) =>
    execFile(
      'xclip',
      ['-selection', 'clipboard', '-o'],
      { env: xvfb.env, encoding: 'buffer', maxBuffer: 16 * 1024 * 1024, timeout: 2000 },
      (err, stdout) => resolve(err?.killed ? undefined : err ? Buffer.alloc(0) : stdout),
    ),
  );

/**
 * The remote X clipboard's bytes. An xclip holding a large text (1 MiB) serves one reader at a
 * time and the agent polls a clipboard it did not write: a read that timed out is tried again.
 */
const remoteClipboardBytes = (xvfb: Xvfb) => waitFor('a read of the remote clipboard', () => readRemote(xvfb));
const remoteClipboard = async (xvfb: Xvfb) => (await remoteClipboardBytes(xvfb)).toString('utf8');
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** Exactly `bytes` bytes of UTF-8 text: numbered lines with two-byte letters, so a lost or misplaced chunk shows. */
function textOfBytes(bytes: number): string {
  const lines: string[] = [];
  let length = 0;
  for (let n = 0; length < bytes - 100; n++) {
    lines.push(`line ${n}: ünïcode text\tand more\n`);
    length += Buffer.byteLength(lines[n]!);
  }
  return lines.join('') + 'z'.repeat(bytes - length);
}

/** The tmux buffers the viewer's OSC 52 made, newest first. */
function buffers(term: Tmux): string[] {
  const names = term.tmux('list-buffers', '-F', '#{buffer_name}').split('\n').filter(Boolean);
  return names.filter((name) => name.startsWith('buffer')).map((name) => term.tmux('show-buffer', '-b', name));
}

/** Pastes `text` into the viewer as the terminal would: bracketed, since the viewer asked for it. */
function pasteIntoViewer(term: Tmux, text: string): void {
  const file = join(mkdtempSync(join(tmpdir(), 'rac-paste-')), 'paste.txt');
  writeFileSync(file, text);
  term.tmux('load-buffer', '-b', 'to-paste', file);
  term.tmux('paste-buffer', '-p', '-d', '-b', 'to-paste', '-t', 'main');
}

const xvfb = await startXvfb();
t.teardown(() => xvfb.stop());
const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const token = await login(broker.api);

/** The agent's xclip, first on its PATH: counts the clipboard reads (`-o`) it runs, then runs xclip. */
function countingXclip(): { env: NodeJS.ProcessEnv; reads(): number } {
  const dir = mkdtempSync(join(tmpdir(), 'rac-xclip-'));
  const log = join(dir, 'reads.log');
  const xclip = execFileSync('sh', ['-c', 'command -v xclip'], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'xclip'), `#!/bin/sh\ncase " $* " in *" -o "*) echo read >> '${log}';; esac\nexec '${xclip}' "$@"\n`);
  chmodSync(join(dir, 'xclip'), 0o755);
  return {
    env: { ...xvfb.env, PATH: `${dir}:${xvfb.env.PATH ?? process.env.PATH}` },
    reads: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0),
  };
}

async function session(t: Test, paste: 'clipboard' | 'type' = 'clipboard', agentEnv: NodeJS.ProcessEnv = xvfb.env) {
  const created = await createSession(broker.api, token);
  const agent = startAgent(['--code', created.session_code, '--server', broker.url], agentEnv, { viaPty: true });
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/waiting for your IT contact/);
  const term = new Tmux(120, 30);
  t.teardown(() => term.kill());
  term.start(`${process.execPath} ${RAC_BIN} view ${created.session_code} --graphics blocks --paste ${paste}; echo EXIT=$?; sleep 60`, {
    RAC_SERVER: broker.url,
    RAC_TOKEN: token,
    TERM: 'xterm-256color',
  });
  term.tmux('set-option', '-s', 'set-clipboard', 'on');
  await agent.waitFor(/Allow\? \[y\/N\] /);
  return { agent, term, created };
}

t.test('copy on the remote, paste into the viewer; nothing before consent', async (t) => {
  const { agent, term } = await session(t);
  await copyOnRemote(xvfb, 'copied before consent');
  pasteIntoViewer(term, 'pasted before consent');
  agent.process.stdin!.write('y\r');
  await agent.waitFor(/Connected: /);
  await waitFor('the picture', () => (term.capture().includes('38;2;') ? true : undefined));
  t.equal(await remoteClipboard(xvfb), 'copied before consent', 'a paste before consent never reached the remote clipboard');

  await copyOnRemote(xvfb, 'hello\tworld\n\x1b]0;pwned\x07line two\r\n');
  const copied = await waitFor('a tmux buffer from OSC 52', () => buffers(term)[0]);
  t.equal(copied, 'hello\tworld\n]0;pwnedline two\n', 'the remote copy, without control characters but tab and newline');
  t.same(buffers(term), [copied], 'what was on the clipboard before consent was never sent');
  await waitFor('the notice', () => (/remote copy in your clipboard \(\d+ chars\)/.test(term.capture(false)) ? true : undefined));

  pasteIntoViewer(term, 'pasted ünïcode\nsecond line');
  await waitFor('the paste on the remote clipboard', async () =>
    (await remoteClipboard(xvfb)) === 'pasted ünïcode\nsecond line' ? true : undefined,
  );
  t.pass('the paste is on the remote clipboard');
  // What the viewer put there is not echoed back as a remote copy.
  await copyOnRemote(xvfb, 'after the paste');
  await waitFor('the next copy', () => (buffers(term)[0] === 'after the paste' ? true : undefined));
  t.same(buffers(term), ['after the paste', copied], 'the paste was not echoed back');
});

t.test('over 1 MiB: nothing is sent, both people are told', async (t) => {
  const { agent, term } = await session(t);
  agent.process.stdin!.write('y\r');
  await agent.waitFor(/Connected: /);
  await waitFor('the picture', () => (term.capture().includes('38;2;') ? true : undefined));

  await copyOnRemote(xvfb, 'x'.repeat(1_500_000));
  await agent.waitFor(/You copied 1\.4 MB of text, over the 1 MB shared with your IT contact: they do not get it\./);
  await waitFor(
    'the viewer notice',
    () => (/remote copy of 1\.4 MB not copied \(limit 1 MB\)/.test(term.capture(false)) ? true : undefined),
    term,
  );
  t.same(buffers(term), [], 'no buffer');

  pasteIntoViewer(term, 'y'.repeat(1_200_000));
  await waitFor('the viewer notice', () => (/paste of 1\.1 MB not sent \(limit 1 MB\)/.test(term.capture(false)) ? true : undefined));
  await agent.waitFor(/Your IT contact tried to paste 1\.1 MB of text, over the 1 MB limit: nothing was pasted\./);
  t.ok((await remoteClipboard(xvfb)) === 'x'.repeat(1_500_000), 'the remote clipboard is untouched');
});

t.test('1 MiB, the cap, arrives whole, and the agent leaves it to the customer', async (t) => {
  const xclip = countingXclip();
  const { agent, term, created } = await session(t, 'clipboard', xclip.env);
  await copyOnRemote(xvfb, 'a small clipboard before'); // polled quickly, so the agent is not mid-read when the paste lands
  agent.process.stdin!.write('y\r');
  await agent.waitFor(/Connected: /);
  await waitFor('the picture', () => (term.capture().includes('38;2;') ? true : undefined));

  const largest = textOfBytes(MAX_CLIPBOARD_BYTES); // 911 datagrams
  pasteIntoViewer(term, largest);
  await waitFor(
    'the 1 MiB paste on the remote clipboard',
    async () => ((await remoteClipboardBytes(xvfb)).length === MAX_CLIPBOARD_BYTES ? true : undefined),
    term,
  ).catch(async (err: Error) => {
    const stats = await call(broker.api, 'GET', `/sessions/${created.id}/stats`, { token });
    throw new Error(`${err.message}\nagent:\n${agent.stderr().slice(-600)}\n${JSON.stringify(stats.body)}`);
  });
  // The customer's application pastes it, one read each: the agent, which polls the clipboard
  // twice a second, leaves the text it wrote alone (the xclip holding it answers one read of
  // 1 MiB at a time; a second reader waits until it gives up).
  const agentReads = xclip.reads();
  const reads: (string | undefined)[] = [];
  for (let read = 0; read < 10; read++) {
    const bytes = await readRemote(xvfb);
    reads.push(bytes && sha256(bytes));
  }
  t.same(reads, Array(10).fill(sha256(largest)), '1 MiB pasted, byte for byte, and every read of it answered');
  t.equal(xclip.reads(), agentReads, 'the agent did not read the clipboard it holds');
  // Another program takes the clipboard: the agent reads it again, and the copy goes to the viewer.
  await copyOnRemote(xvfb, 'copied after the large paste');
  await waitFor('the next copy', () => (buffers(term)[0] === 'copied after the large paste' ? true : undefined), term);
  t.pass('polling resumed once another program took the clipboard');
});

t.test('--paste type types the paste into the focused window', async (t) => {
  const cat = await startCatTerminal(xvfb);
  t.teardown(() => cat.stop());
  const { agent, term } = await session(t, 'type');
  agent.process.stdin!.write('y\r');
  await agent.waitFor(/Connected: /);
  await waitFor('the picture', () => (term.capture().includes('38;2;') ? true : undefined));
  const before = await remoteClipboard(xvfb);
  pasteIntoViewer(term, 'typed Text!\n');
  await waitFor('the typed text', () => (cat.read().includes('typed Text!\n') ? true : undefined));
  t.equal(cat.read(), 'typed Text!\n', 'typed, Enter included');
  t.equal(await remoteClipboard(xvfb), before, 'the remote clipboard is untouched');
});

// A real SMTP server in the test process (the smtp-server package) with a self-signed certificate
// made by openssl, plus a minimal MIME reader for the messages it receives.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface TestCert {
  dir: string;
  keyPath: string;
  certPath: string;
  key: string;
  cert: string;
}

/** A self-signed certificate for localhost and 127.0.0.1 (it is also its own CA). */
export function makeSelfSignedCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'rac-smtp-cert-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { dir, keyPath, certPath, key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
}

export interface ReceivedMail {
  from: string | null;
  to: string[];
  raw: string;
  /** Whether the message travelled over TLS (implicit or after STARTTLS). */
  secure: boolean;
  /** The user that logged in, if any. */
  user: string | null;
  /** The name the client greeted with (EHLO). */
  helo: string;
}

export interface TestSmtpServer {
  port: number;
  messages: ReceivedMail[];
  /** Login attempts: user and whether they were accepted. */
  logins: { user: string; accepted: boolean }[];
  /** Resolves with the next message (or the nth one, counting from 0). */
  nextMessage(index?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export interface TestSmtpOptions {
  cert: TestCert;
  /** 'implicit' = TLS from the first byte; 'starttls' = offers STARTTLS; 'plain' = no TLS at all. */
  tls: 'implicit' | 'starttls' | 'plain';
  /** When set, AUTH is required and only these credentials are accepted. */
  auth?: { user: string; pass: string };
}

export async function startTestSmtpServer(options: TestSmtpOptions): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const logins: { user: string; accepted: boolean }[] = [];
  const waiters: (() => void)[] = [];
  const disabled: string[] = [];
  if (options.tls !== 'starttls') disabled.push('STARTTLS');
  if (!options.auth) disabled.push('AUTH');
  const serverOptions: SMTPServerOptions = {
    secure: options.tls === 'implicit',
    key: options.cert.key,
    cert: options.cert.cert,
    disabledCommands: disabled,
    authOptional: !options.auth,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      const accepted = auth.username === options.auth?.user && auth.password === options.auth?.pass;
      logins.push({ user: auth.username ?? '', accepted });
      if (!accepted) {
        const err = new Error('5.7.8 Authentication credentials invalid (test server)') as Error & { responseCode: number };
        err.responseCode = 535;
        return callback(err);
      }
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : null,
          helo: session.hostNameAppearsAs,
        });
        waiters.splice(0).forEach((wake) => wake());
        callback();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => {}); // a client that drops mid-handshake is not a test failure
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    logins,
    nextMessage(index = messages.length) {
      return new Promise((resolve) => {
        const check = () => {
          if (messages.length > index) resolve(messages[index]!);
          else waiters.push(check);
        };
        check();
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A TCP server that accepts connections and never says a word (a hung mail server). */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A server that greets, then answers EHLO one "250-" line at a time, forever: never silent, never done. */
export async function startTricklingServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.write('220 trickle.test ESMTP\r\n');
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', () => {
      timer ??= setInterval(() => socket.write('250-still thinking\r\n'), 200);
    });
    socket.on('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface MailParts {
  headers: Record<string, string>;
  text: string;
  html: string;
}

/** Headers (lower-case names, unfolded) and the decoded text/plain and text/html parts. */
export function parseMail(raw: string): MailParts {
  const { headers, body } = splitEntity(raw);
  const parts: MailParts = { headers, text: '', html: '' };
  collect(headers, body, parts);
  return parts;
}

function splitEntity(raw: string): { headers: Record<string, string>; body: string } {
  const at = raw.search(/\r?\n\r?\n/);
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function collect(headers: Record<string, string>, body: string, out: MailParts): void {
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      const part = splitEntity(section.replace(/^\r?\n/, ''));
      collect(part.headers, part.body, out);
    }
    return;
  }
  const decoded = decodeBody(body, headers['content-transfer-encoding'] ?? '7bit');
  if (/^text\/html/i.test(type)) out.html += decoded;
  else if (/^text\/plain/i.test(type)) out.text += decoded;
}

function decodeBody(body: string, encoding: string): string {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable': {
      const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    default:
      return body;
  }
}

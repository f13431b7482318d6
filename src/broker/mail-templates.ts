// The mails the broker sends: each one a subject, a plain-text body and the same text as HTML.
// Pure functions; every value that comes from a user is escaped in the HTML and stripped of
// control characters (so a name cannot add lines to a subject).
import { agentPackageUrl, customerCommand, joinPagePath } from '../protocol/customer-command.js';
import type { OutgoingMail } from './mailer.js';

export type MailContent = Omit<OutgoingMail, 'to' | 'replyTo'>;

export interface Person {
  full_name: string | null;
  email: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** One line of text: control characters (newlines included) become spaces. */
export const oneLine = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();

/** "Jane Tech (jane@example.com)", or the email alone when there is no name. */
export const personLabel = (p: Person): string => (p.full_name?.trim() ? `${oneLine(p.full_name)} (${p.email})` : p.email);

/** Wraps paragraphs (arrays of already-escaped inline HTML) into a small, mail-client-safe document. */
function htmlDocument(title: string, paragraphs: string[]): string {
  return [
    '<!DOCTYPE html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family: sans-serif; line-height: 1.4">',
    ...paragraphs.map((p) => (p.startsWith('<pre') ? p : `<p>${p}</p>`)),
    '</body></html>',
  ].join('\n');
}

const pre = (text: string) => `<pre style="background:#f4f4f4; padding:8px; font-size:110%"><code>${escapeHtml(text)}</code></pre>`;

export function sessionCodeMail(input: {
  code: string;
  serverUrl: string;
  /** The broker's rac version: the customer runs exactly that package. */
  version: string;
  tech: Person;
  customerName: string | null;
}): MailContent {
  const command = customerCommand({ code: input.code, brokerUrl: input.serverUrl, version: input.version });
  const joinUrl = input.serverUrl + joinPagePath(input.code);
  const who = personLabel(input.tech);
  const greeting = input.customerName?.trim() ? `Hello ${oneLine(input.customerName)},` : 'Hello,';
  const text = [
    greeting,
    '',
    `${who} has started a remote support session for you.`,
    'To let them see your screen, open a terminal (on Windows: PowerShell) and run:',
    '',
    `    ${command}`,
    '',
    `Your session code is ${input.code}.`,
    `Step-by-step help for Windows, macOS and Linux: ${joinUrl}`,
    '',
    'This needs Node.js 20.18 or newer (https://nodejs.org). Before anything is shown or',
    'controlled, the program asks you to confirm, and you can end the session at any time.',
    '',
    'If you did not expect this message, ignore it: nothing happens unless you run the command.',
  ].join('\n');
  const html = htmlDocument('Remote support session', [
    escapeHtml(greeting),
    `<strong>${escapeHtml(who)}</strong> has started a remote support session for you.<br>` +
      'To let them see your screen, open a terminal (on Windows: PowerShell) and run:',
    pre(command),
    `Your session code is <strong>${escapeHtml(input.code)}</strong>.<br>` +
      `Step-by-step help for Windows, macOS and Linux: <a href="${escapeHtml(joinUrl)}">${escapeHtml(joinUrl)}</a>`,
    'This needs Node.js 20.18 or newer (<a href="https://nodejs.org">nodejs.org</a>). Before anything is shown or ' +
      'controlled, the program asks you to confirm, and you can end the session at any time.',
    'If you did not expect this message, ignore it: nothing happens unless you run the command.',
  ]);
  const subject = input.tech.full_name?.trim()
    ? `Remote support session from ${oneLine(input.tech.full_name)}: code ${input.code}`
    : `Remote support session: code ${input.code}`;
  return { subject, text, html };
}

/** For a new user. Never contains their password: the admin hands it over separately. */
export function welcomeMail(input: { serverUrl: string; version: string; user: Person; admin: Person }): MailContent {
  // From the broker's own package, like the customer's command: no registry package is ours.
  const login = `npx --yes ${agentPackageUrl(input.serverUrl, input.version)} login --server ${input.serverUrl} --email ${input.user.email}`;
  const greeting = input.user.full_name?.trim() ? `Hello ${oneLine(input.user.full_name)},` : 'Hello,';
  const admin = personLabel(input.admin);
  const text = [
    greeting,
    '',
    `${admin} has created an account for you on the rac remote support broker at`,
    `${input.serverUrl}`,
    '',
    `Your login is your email address: ${input.user.email}`,
    'Your password is not in this mail: ask the person who created your account for it.',
    '',
    'To log in from a terminal, run:',
    '',
    `    ${login}`,
    '',
    'and type your password when asked. Then the same command with `session create` in place of',
    '`login …` starts a session.',
  ].join('\n');
  const html = htmlDocument('Your rac account', [
    escapeHtml(greeting),
    `<strong>${escapeHtml(admin)}</strong> has created an account for you on the rac remote support broker at ` +
      `<a href="${escapeHtml(input.serverUrl)}">${escapeHtml(input.serverUrl)}</a>.`,
    `Your login is your email address: <strong>${escapeHtml(input.user.email)}</strong><br>` +
      'Your password is not in this mail: ask the person who created your account for it.',
    'To log in from a terminal, run:',
    pre(login),
    'and type your password when asked. Then the same command with <code>session create</code> in place of ' +
      '<code>login …</code> starts a session.',
  ]);
  return { subject: 'Your rac remote support account', text, html };
}

export function testMail(input: { serverUrl: string; admin: Person; settingsSummary: string }): MailContent {
  const admin = personLabel(input.admin);
  const text = [
    'This is a test message from the rac remote support broker at',
    input.serverUrl,
    '',
    `${admin} sent it to check the mail settings: ${input.settingsSummary}.`,
    'It arrived, so session codes can be mailed to customers.',
  ].join('\n');
  const html = htmlDocument('rac test message', [
    `This is a test message from the rac remote support broker at <a href="${escapeHtml(input.serverUrl)}">${escapeHtml(input.serverUrl)}</a>.`,
    `<strong>${escapeHtml(admin)}</strong> sent it to check the mail settings: ${escapeHtml(input.settingsSummary)}.`,
    'It arrived, so session codes can be mailed to customers.',
  ]);
  return { subject: 'rac: SMTP test message', text, html };
}

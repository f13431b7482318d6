// The customer's page at /join/CODE: plain HTML without a script, the command to run on Windows,
// macOS and Linux, and what happens next. It never looks the code up, so it reads the same for
// every nine digits and tells nobody whether a session exists.
import { customerCommand } from '../protocol/customer-command.js';
import { escapeHtml } from './mail-templates.js';

const STYLE =
  'body{font-family:sans-serif;line-height:1.45;max-width:46em;margin:2em auto;padding:0 1em}pre{background:#f4f4f4;padding:8px;white-space:pre-wrap;word-break:break-all}';

export function joinPage(input: { code: string; brokerUrl: string; version: string }): string {
  const command = escapeHtml(customerCommand(input));
  const code = escapeHtml(input.code);
  const run = (system: string, howToOpen: string) =>
    `<h3>${system}</h3>\n<p>${howToOpen}, paste this line and press Enter:</p>\n<pre><code>${command}</code></pre>`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Remote support session ${code}</title><style>${STYLE}</style></head><body>`,
    `<h1>Remote support session ${code}</h1>`,
    '<p>Your IT contact asked you to let them see your screen. You need <strong>Node.js 20.18 or newer</strong>: ' +
      'if the command below says that <code>npx</code> is not found, install the LTS version from ' +
      '<a href="https://nodejs.org">nodejs.org</a> first.</p>',
    '<h2>Run the command</h2>',
    run('Windows', 'Open <strong>PowerShell</strong> (Start menu, type “PowerShell”)'),
    run('macOS', 'Open <strong>Terminal</strong> (Applications → Utilities)'),
    run('Linux', 'Open a terminal'),
    '<h2>What you will see</h2>',
    '<ol>',
    '<li>The first time, the program downloads for a minute or two.</li>',
    '<li>It says that it waits for your IT contact, then asks whether they may see (and control) this computer: ' +
      'nothing is shown until you answer <strong>y</strong>.</li>',
    '<li>It shows a <strong>security code</strong> of six digits: read it to your IT contact on the phone. ' +
      'If their code is different, answer <strong>n</strong>.</li>',
    '<li>To end the session at any time, press <strong>Ctrl-C</strong> in that window (or close it).</li>',
    '</ol>',
    '<p>If you did not expect a support session, close this page: nothing happens unless you run the command.</p>',
    '</body></html>',
  ].join('\n');
}

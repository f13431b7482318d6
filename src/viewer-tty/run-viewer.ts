// `rac view`: the session list (Ink) and the session view (ViewerScreen), in the alternate
// screen, with the terminal restored however it ends.
import { render } from 'ink';
import { createElement } from 'react';
import type { BrokerClient, Session } from '../client/broker-client.js';
import { SessionBrowser } from './components/SessionBrowser.js';
import { detectGraphics, kittyFrameEdits } from './detect-graphics.js';
import { createRenderer } from './graphics/create-renderer.js';
import type { GraphicsMode } from './graphics/renderer.js';
import { SessionConnection } from './session-connection.js';
import type { PasteMode } from './clipboard-bridge.js';
import { openShell } from './shell-launcher.js';
import {
  BRACKETED_PASTE_OFF,
  BRACKETED_PASTE_ON,
  ENTER_ALT_SCREEN,
  HIDE_CURSOR,
  LEAVE_ALT_SCREEN,
  MOUSE_OFF,
  MOUSE_ON,
  RESET_ATTRIBUTES,
  SHOW_CURSOR,
  guardTerminal,
} from './terminal-modes.js';
import { ViewerScreen, type ViewerTerminal } from './viewer-screen.js';

export interface RunViewerOptions {
  client: BrokerClient;
  token: string;
  /** Open this session directly; without it, start with the list. */
  code?: string;
  graphics: GraphicsMode | 'auto';
  /** What a paste does in the session view (default: the remote clipboard, then Ctrl+V). */
  paste?: PasteMode;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export class SessionNotFoundError extends Error {}

/** Shows the list until the user opens a session (or quits: undefined). */
async function pickSession(options: RunViewerOptions): Promise<Session | undefined> {
  let choose!: (s: Session | undefined) => void;
  const chosen = new Promise<Session | undefined>((resolve) => (choose = resolve));
  const app = render(
    createElement(SessionBrowser, {
      api: options.client,
      server: options.client.server,
      onOpen: (s: Session) => choose(s),
      onQuit: () => choose(undefined),
    }),
    { stdin: options.stdin, stdout: options.stdout, exitOnCtrlC: false, patchConsole: false },
  );
  const session = await chosen;
  app.clear();
  app.unmount();
  await app.waitUntilExit().catch(() => undefined);
  return session;
}

export async function runViewer(options: RunViewerOptions): Promise<void> {
  const { stdin, stdout } = options;
  const guard = guardTerminal(
    stdout,
    stdin,
    ENTER_ALT_SCREEN + HIDE_CURSOR,
    RESET_ATTRIBUTES + MOUSE_OFF + BRACKETED_PASTE_OFF + LEAVE_ALT_SCREEN + SHOW_CURSOR,
  );
  try {
    stdin.resume();
    const detected = await detectGraphics({ stdin, stdout, env: options.env });
    const mode = options.graphics === 'auto' ? detected.mode : options.graphics;
    let session: Session | undefined;
    if (options.code) {
      session = (await options.client.listSessions()).find((s) => s.session_code === options.code);
      if (!session) throw new SessionNotFoundError(`session ${options.code} not found (or not yours)`);
      if (session.status === 'closed') throw new SessionNotFoundError(`session ${options.code} is closed`);
    }
    for (;;) {
      if (!options.code) {
        session = await pickSession(options);
        if (!session) return;
      }
      const renderer = createRenderer(mode, { kittyEdits: kittyFrameEdits(options.env) });
      guard.setCleanup(renderer.erase());
      stdout.write(MOUSE_ON + BRACKETED_PASTE_ON + HIDE_CURSOR);
      if (stdin.isTTY) stdin.setRawMode(true);
      stdin.resume();
      const screen = new ViewerScreen({
        terminal: { stdin, stdout } as ViewerTerminal,
        renderer,
        cell: detected.cell,
        cellReported: detected.replies.cell !== undefined,
        code: session!.session_code,
        customer: session!.customer_name ?? session!.customer_email,
        status: session!.status,
        paste: options.paste,
        connect: (events) =>
          new SessionConnection({
            webSocketUrl: options.client.sessionWebSocketUrl(session!.session_code),
            token: options.token,
            events,
            tls: options.client.tls,
          }),
        openShell: () => openShell({ code: session!.session_code, server: options.client.server, env: options.env, stdin, stdout }),
      });
      await screen.run();
      stdout.write(MOUSE_OFF + BRACKETED_PASTE_OFF);
      guard.setCleanup('');
      if (options.code) return;
    }
  } finally {
    guard.restore();
    guard.dispose();
    stdin.pause();
  }
}

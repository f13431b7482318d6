// `rac view` without a code: the live session list with keys to create, close and open sessions.
import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';
import type { Session } from '../../protocol/broker-api.js';
import { terminalSafe } from '../../protocol/display-text.js';
import { groupCode } from '../format.js';
import { type SessionApi, useSessions } from '../hooks/use-sessions.js';
import { useNow } from '../hooks/use-now.js';
import { SessionCreated } from './SessionCreated.js';
import { SessionList } from './SessionList.js';
import { TextField } from './TextField.js';

export interface SessionBrowserProps {
  api: SessionApi;
  server: string;
  onOpen(session: Session): void;
  onQuit(): void;
  pollMs?: number;
}

type Mode =
  | { kind: 'list' }
  | { kind: 'name' }
  | { kind: 'email'; name: string }
  | { kind: 'creating' }
  | { kind: 'created'; session: Session }
  | { kind: 'confirm-close'; session: Session };

const openable = (s: Session) => s.status !== 'closed';

export function SessionBrowser({ api, server, onOpen, onQuit, pollMs }: SessionBrowserProps) {
  const { sessions, loaded, error, create, close, refresh } = useSessions(api, pollMs);
  const now = useNow();
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const [selected, setSelected] = useState(0);
  // Keys typed after the name's Enter before the email field listens (a paste, a slow link).
  const typeahead = useRef('');
  const current = sessions[Math.min(selected, sessions.length - 1)];

  useInput((input, key) => {
    if (mode.kind === 'list') {
      if (key.upArrow || input === 'k') setSelected((i) => Math.max(0, i - 1));
      else if (key.downArrow || input === 'j') setSelected((i) => Math.min(sessions.length - 1, i + 1));
      else if (input === 'n') {
        typeahead.current = '';
        setMode({ kind: 'name' });
      } else if ((input === 'c' || input === 'd' || key.delete) && current && current.status !== 'closed')
        setMode({ kind: 'confirm-close', session: current });
      else if ((key.return || input === 'o') && current && openable(current)) onOpen(current);
      else if (input === 'r') void refresh();
      else if (input === 'q' || (key.ctrl && input === 'c')) onQuit();
    } else if (mode.kind === 'confirm-close') {
      if (input === 'y') void close(mode.session).then(() => setMode({ kind: 'list' }));
      else setMode({ kind: 'list' });
    } else if (mode.kind === 'created') {
      if (key.return) onOpen(mode.session);
      else setMode({ kind: 'list' });
    }
  });

  const submitEmail = (name: string, email: string) => {
    setMode({ kind: 'creating' });
    void create({ ...(name ? { customer_name: name } : {}), ...(email ? { customer_email: email } : {}) }).then((session) => {
      if (session) {
        setSelected(0);
        setMode({ kind: 'created', session });
      } else setMode({ kind: 'list' });
    });
  };

  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>rac</Text> <Text dimColor>sessions on {server}</Text>
      </Text>
      <Box marginY={1} flexDirection="column">
        {mode.kind === 'created' ? (
          <SessionCreated session={mode.session} server={server} emailed={!!mode.session.customer_email} />
        ) : loaded ? (
          <SessionList sessions={sessions} selected={Math.min(selected, sessions.length - 1)} now={now} />
        ) : (
          <Text dimColor>Loading sessions…</Text>
        )}
      </Box>
      {mode.kind === 'name' ? (
        <TextField
          label="Customer name"
          placeholder="(optional, Enter to skip)"
          typeahead={typeahead}
          onSubmit={(name) => setMode({ kind: 'email', name })}
          onCancel={() => setMode({ kind: 'list' })}
        />
      ) : null}
      {mode.kind === 'email' ? (
        <TextField
          label="Customer email"
          placeholder="(optional: the code is mailed to it)"
          typeahead={typeahead}
          onSubmit={(email) => submitEmail(mode.name, email)}
          onCancel={() => setMode({ kind: 'list' })}
        />
      ) : null}
      {mode.kind === 'creating' ? <Text dimColor>Creating the session…</Text> : null}
      {mode.kind === 'confirm-close' ? (
        <Text color="yellow">Close session {groupCode(mode.session.session_code)}? The customer is disconnected. (y/n)</Text>
      ) : null}
      {error ? <Text color="red">{terminalSafe(error)}</Text> : null}
      {mode.kind === 'list' ? <Text dimColor>↑/↓ select · Enter open · n new session · c close · r refresh · q quit</Text> : null}
    </Box>
  );
}

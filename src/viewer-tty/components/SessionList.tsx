// The user's sessions as a table: code, customer, status, age; the selected row highlighted.
import { Box, Text } from 'ink';
import type { Session } from '../../protocol/broker-api.js';
import { terminalSafe } from '../../protocol/display-text.js';
import { formatAge, groupCode } from '../format.js';

export interface SessionListProps {
  sessions: Session[];
  selected: number;
  now: number;
}

const STATUS_COLOR: Record<string, string> = { active: 'green', pending: 'yellow', disconnected: 'red', closed: 'gray' };

/** The customer as the broker stored them, control characters made visible. */
export function customerOf(s: Pick<Session, 'customer_name' | 'customer_email'>): string {
  if (s.customer_name && s.customer_email) return terminalSafe(`${s.customer_name} <${s.customer_email}>`);
  return terminalSafe(s.customer_name ?? s.customer_email ?? '—');
}

export function SessionList({ sessions, selected, now }: SessionListProps) {
  if (sessions.length === 0) {
    return <Text dimColor>No sessions yet. Press n to create one.</Text>;
  }
  return (
    <Box flexDirection="column">
      <Box>
        <Box width={14}>
          <Text bold>CODE</Text>
        </Box>
        <Box width={40}>
          <Text bold>CUSTOMER</Text>
        </Box>
        <Box width={14}>
          <Text bold>STATUS</Text>
        </Box>
        <Text bold>AGE</Text>
      </Box>
      {sessions.map((s, i) => (
        <Box key={s.id}>
          <Box width={14}>
            <Text inverse={i === selected}>{groupCode(s.session_code)}</Text>
          </Box>
          <Box width={40}>
            <Text wrap="truncate-end">{customerOf(s)}</Text>
          </Box>
          <Box width={14}>
            <Text color={STATUS_COLOR[s.status]}>{s.status}</Text>
          </Box>
          <Text>{formatAge(s.created_at, now)}</Text>
        </Box>
      ))}
    </Box>
  );
}

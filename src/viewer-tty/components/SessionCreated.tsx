// After creating a session: the code, big, and the command the customer runs.
import { Box, Text } from 'ink';
import type { Session } from '../../protocol/broker-api.js';
import { terminalSafe } from '../../protocol/display-text.js';
import { bigText, groupCode } from '../format.js';

export function agentCommand(session: Pick<Session, 'session_code'>, server: string): string {
  return `rac agent --code ${session.session_code} --server ${server}`;
}

export function SessionCreated({ session, server, emailed }: { session: Session; server: string; emailed: boolean }) {
  return (
    <Box flexDirection="column" paddingY={1}>
      <Text>Session created. Give the customer this code:</Text>
      <Box flexDirection="column" paddingY={1} paddingX={2}>
        {bigText(groupCode(session.session_code)).map((row, i) => (
          <Text key={i} color="cyan">
            {row}
          </Text>
        ))}
      </Box>
      <Text>
        Code: <Text bold>{groupCode(session.session_code)}</Text>
      </Text>
      <Text>
        The customer runs: <Text color="green">{agentCommand(session, server)}</Text>
      </Text>
      {emailed ? <Text dimColor>The code was also sent to {terminalSafe(session.customer_email ?? '')}.</Text> : null}
      <Text dimColor>Enter: open the session · any other key: back to the list</Text>
    </Box>
  );
}

// After creating a session: the code, big, the command the customer runs, and what became of the mail.
import { Box, Text } from 'ink';
import type { CreatedSession } from '../../protocol/broker-api.js';
import { terminalSafe } from '../../protocol/display-text.js';
import { bigText, groupCode } from '../format.js';

/** The broker's command (it serves its own package); an older broker that sends none gets the plain one. */
export function agentCommand(session: Pick<CreatedSession, 'session_code' | 'customer_command'>, server: string): string {
  return session.customer_command ?? `rac agent --code ${session.session_code} --server ${server}`;
}

/** Says what the broker says about the mail: never "sent" for a mail that was not. */
function mailLine(session: CreatedSession): string | null {
  if (session.email_status === 'sending')
    return `Mailing the code to ${terminalSafe(session.customer_email ?? '')}: the MAIL column says whether it was sent.`;
  if (session.email_status === 'failed')
    return `Not mailed: ${terminalSafe(session.email_error ?? '')} — give the customer the code yourself.`;
  if (session.email_status === 'sent') return `The code was sent to ${terminalSafe(session.customer_email ?? '')}.`;
  return null;
}

/** `emailed` is no longer read: the session's email_status says what happened. */
export function SessionCreated({ session, server }: { session: CreatedSession; server: string; emailed?: boolean }) {
  const mail = mailLine(session);
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
      <Text>The customer runs (one line):</Text>
      <Text color="green">{agentCommand(session, server)}</Text>
      {session.join_url ? <Text>Step-by-step help for the customer: {session.join_url}</Text> : null}
      {mail ? <Text dimColor>{mail}</Text> : null}
      <Text dimColor>Enter: open the session · any other key: back to the list</Text>
    </Box>
  );
}

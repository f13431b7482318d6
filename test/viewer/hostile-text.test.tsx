// Text from another party (a customer's name or email, the reason a broker gives) is rendered by
// the viewer's components with its control characters escaped, never raw.
import t from 'tap';
import { render } from 'ink-testing-library';
import type { ReactElement } from 'react';
import { SessionCreated } from '../../src/viewer-tty/components/SessionCreated.js';
import { SessionList } from '../../src/viewer-tty/components/SessionList.js';
import { StatusLine } from '../../src/viewer-tty/components/StatusLine.js';
import type { Session } from '../../src/protocol/broker-api.js';

const HOSTILE = '\x1b[2K\r…view only';
const ESCAPED = '\\x1b[2K\\x0d…view only';

const frameOf = (element: ReactElement): string => {
  const r = render(element);
  const frame = r.lastFrame() ?? '';
  r.unmount();
  return frame;
};

const session: Session = {
  id: 7,
  session_code: '482916573',
  tech_user_id: 1,
  customer_name: HOSTILE,
  customer_email: 'x\x07@example.com',
  status: 'pending',
  udp_port: 50001,
  created_at: '2026-01-31T15:45:00Z',
};

t.test('the session list shows a hostile customer escaped', async (t) => {
  const frame = frameOf(<SessionList now={Date.parse('2026-01-31T16:00:00Z')} selected={0} sessions={[session]} />);
  t.notMatch(frame, /[\x00-\x08\x0b-\x1f\x7f]/, 'no control character but the line breaks');
  // The column is 40 wide: the escaped name is there, the email may be cut.
  t.ok(frame.includes(ESCAPED), frame);
});

const statusLine = (props: { customer?: string; link: 'connected' | 'ended'; detail?: string }) =>
  frameOf(
    <StatusLine
      code="482916573"
      status="active"
      stats={{ fps: 0, kbps: 0, frameLoss: 0, framesShown: 0 }}
      hasPicture={true}
      control="remote"
      escapeKey="Ctrl-]"
      {...props}
    />,
  );

t.test("the status line escapes the customer and the link's detail", async (t) => {
  const customer = statusLine({ customer: HOSTILE, link: 'connected' });
  t.notMatch(customer, /[\x00-\x09\x0b-\x1f\x7f]/);
  t.ok(customer.includes(`· ${ESCAPED} ·`), customer);
  const ended = statusLine({ link: 'ended', detail: `closed${HOSTILE}` });
  t.notMatch(ended, /[\x00-\x09\x0b-\x1f\x7f]/);
  t.ok(ended.includes(`session ended: closed${ESCAPED}`), ended);
});

t.test('the created session escapes the email it was sent to', async (t) => {
  const frame = frameOf(<SessionCreated session={{ ...session, email_status: 'sent' }} server="http://broker" />);
  t.notMatch(frame, /[\x00-\x09\x0b-\x1f\x7f]/);
  t.ok(frame.includes('The code was sent to x\\x07@example.com.'), frame);
});

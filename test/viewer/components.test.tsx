import t from 'tap';
import { render } from 'ink-testing-library';
import { StatusLine, type StatusLineProps } from '../../src/viewer-tty/components/StatusLine.js';
import { SessionList } from '../../src/viewer-tty/components/SessionList.js';
import { applyTyped } from '../../src/viewer-tty/components/TextField.js';
import type { Session } from '../../src/protocol/broker-api.js';

const stats = { fps: 14.96, kbps: 1234.4, frameLoss: 0.02, latencyMs: 23, framesShown: 100 };
const base: StatusLineProps = {
  code: '482916573',
  customer: 'John Customer',
  status: 'active',
  link: 'connected',
  stats,
  hasPicture: true,
  control: 'remote',
  escapeKey: 'Ctrl-]',
};
const line = (p: Partial<StatusLineProps>) => {
  const r = render(<StatusLine {...base} {...p} />);
  const frame = r.lastFrame() ?? '';
  r.unmount();
  return frame;
};

t.test('StatusLine shows code, customer, status and the link figures', async (t) => {
  const out = line({});
  t.match(out, '482 916 573');
  t.match(out, 'John Customer');
  t.match(out, 'active');
  t.match(out, '15.0 fps');
  t.match(out, '1234 kbit/s');
  t.match(out, 'loss 2%');
  t.match(out, '23 ms');
  t.match(out, 'Ctrl-] remote');
  t.match(line({ control: 'viewer' }), 'Ctrl-] viewer: q quit');
  t.match(line({ stats: { ...stats, latencyMs: undefined } }), '· –');
});

t.test('StatusLine says the zoom, and where when zoomed in', async (t) => {
  t.match(line({ zoom: 'fit' }), ' fit  Ctrl-] remote');
  t.match(line({ zoom: '2×', region: { x: 480, y: 262, width: 960, height: 557 } }), '2× 960×557 at 480,262');
  t.match(line({ zoom: '1:1', region: { x: 0, y: 0, width: 160, height: 94 }, control: 'viewer' }), '1:1 160×94 at 0,0');
  t.match(line({ control: 'viewer' }), 'q quit · +/-/0 zoom · s shell');
});

t.test('StatusLine messages: consent, pending, disconnected, reconnecting, ended', async (t) => {
  t.match(line({ hasPicture: false }), "waiting for the customer's consent");
  t.match(line({ status: 'pending', hasPicture: false }), 'waiting for the customer to join');
  t.match(line({ status: 'disconnected' }), 'customer disconnected');
  const reconnecting = line({ link: 'reconnecting', detail: 'connection closed (1006)' });
  t.match(reconnecting, 'reconnecting (connection closed (1006))');
  t.notMatch(reconnecting, 'fps', 'figures give way to the message');
  t.match(line({ link: 'ended', detail: 'the session was closed' }), 'session ended: the session was closed');
  t.match(line({ link: 'joining' }), 'connecting…');
  t.match(
    line({ link: 'joining', detail: 'no answer on UDP 10.0.0.1:50001 yet; is UDP blocked?' }),
    'connecting… no answer on UDP 10.0.0.1:50001',
  );
});

t.test('StatusLine shows the security code of a sealed stream and warns of a clear one', async (t) => {
  const sealed = line({ security: { state: 'sealed', sas: '482 019' } });
  t.match(sealed, 'code 482 019');
  t.notMatch(sealed, 'NOT ENCRYPTED');
  const clear = line({ security: { state: 'not_encrypted' } });
  t.match(clear, 'NOT ENCRYPTED');
  t.notMatch(clear, /code \d{3} \d{3}/);
  t.match(line({ security: { state: 'exchanging' } }), 'agreeing keys…');
  t.match(line({ security: { state: 'exchanging', keyChanged: true } }), "customer's key changed…");
});

const session = (over: Partial<Session>): Session => ({
  id: 1,
  session_code: '123456789',
  tech_user_id: 1,
  customer_name: null,
  customer_email: null,
  status: 'pending',
  udp_port: 50001,
  created_at: '2026-01-31T15:45:00',
  ...over,
});

t.test('SessionList shows code, customer, status and age per session', async (t) => {
  const now = Date.parse('2026-01-31T16:00:00Z');
  const r = render(
    <SessionList
      now={now}
      selected={1}
      sessions={[
        session({
          id: 2,
          session_code: '482916573',
          customer_name: 'John Customer',
          customer_email: 'john@example.com',
          status: 'active',
          created_at: '2026-01-31T15:45:00',
        }),
        session({ id: 1, session_code: '391847562', status: 'closed', created_at: '2026-01-31T13:30:00Z' }),
      ]}
    />,
  );
  const lines = (r.lastFrame() ?? '').split('\n');
  t.match(lines[0], /CODE\s+CUSTOMER\s+STATUS\s+AGE/);
  t.match(lines[1], /482 916 573\s+John Customer <john@example.com>\s+active\s+15m/);
  t.match(lines[2], /391 847 562\s+—\s+closed\s+2h/);
  r.unmount();
  const empty = render(<SessionList now={now} selected={0} sessions={[]} />);
  t.match(empty.lastFrame(), 'No sessions yet. Press n to create one.');
  empty.unmount();
});

t.test('TextField applies a whole burst: text, Backspace, Enter and what follows', async (t) => {
  t.same(applyTyped('', 'Ada Lovelace'), { kind: 'edit', value: 'Ada Lovelace' });
  t.same(applyTyped('Ad', 'x\x7fa Lovelace \rada@example.com\r'), { kind: 'submit', value: 'Ada Lovelace', rest: 'ada@example.com\r' });
  t.same(applyTyped('', '\r'), { kind: 'submit', value: '', rest: '' });
  t.same(applyTyped('né', '\x7f\x7fno\ttab'), { kind: 'edit', value: 'notab' }, 'control characters are not text');
});

// The session list against a real broker: create (name + email), the big code, close, open, quit.
import { waitUntil } from '../helpers/patience.js';
import t from 'tap';
import { render } from 'ink-testing-library';
import { Profiler, type ReactNode } from 'react';
import { BrokerClient, type Session } from '../../src/client/broker-client.js';
import { SessionBrowser } from '../../src/viewer-tty/components/SessionBrowser.js';
import { startBrokerProcess, login } from '../helpers/broker-process.js';

/**
 * Renders `node` and tells when it listens: Ink's useInput subscribes a screen's key handler in an
 * effect after the paint, and SessionBrowser's handler again after each render, so a key written
 * before the effects run goes to the old handler or to none. A Profiler counts the commits and the
 * commits whose effects have run (onPostCommit, which its type does not declare).
 */
function renderListening(node: ReactNode) {
  let commits = 0;
  let effectsRun = 0;
  const afterEffects = { onPostCommit: () => effectsRun++ };
  const r = render(
    <Profiler id="browser" onRender={() => commits++} {...afterEffects}>
      {node}
    </Profiler>,
  );
  const listening = () => waitUntil('the screen to listen', () => effectsRun === commits, 5);
  return { ...r, listening };
}

t.test('session browser', async (t) => {
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const client = new BrokerClient({ server: broker.url, token });
  t.teardown(() => client.close());

  const opened: Session[] = [];
  let quit = 0;
  const r = renderListening(
    <SessionBrowser api={client} server={broker.url} pollMs={200} onOpen={(s) => opened.push(s)} onQuit={() => quit++} />,
  );
  t.teardown(() => r.unmount());
  const frame = () => r.lastFrame() ?? '';
  const press = async (keys: string) => {
    await r.listening();
    r.stdin.write(keys);
  };

  await waitUntil('the empty list', () => frame().includes('No sessions yet'));

  await press('n');
  await waitUntil('the name field', () => frame().includes('Customer name:'));
  for (const ch of 'Ada Lovelace') await press(ch);
  await waitUntil('the typed name', () => frame().includes('Customer name: Ada Lovelace'));
  await press('\r');
  await waitUntil('the email field', () => frame().includes('Customer email:'));
  await press('\r'); // no email: nothing is mailed
  await waitUntil('the created screen', () => frame().includes('Session created'));
  const [created] = await client.listSessions();
  t.ok(created, 'the broker has the session');
  t.equal(created!.customer_name, 'Ada Lovelace');
  const code = created!.session_code;
  t.match(
    frame().replace(/\s*\n\s*/g, ' '),
    new RegExp(`/download/rac-\\S+\\.tgz agent --code ${code} --server ${broker.url}`),
    'the broker’s customer command',
  );
  t.match(frame(), '███', 'the code in big digits');

  await press('x'); // back to the list
  await waitUntil('the list with the session', () =>
    new RegExp(`${code.slice(0, 3)} ${code.slice(3, 6)} ${code.slice(6)}\\s+Ada Lovelace\\s+pending`).test(frame()),
  );

  await press('\r');
  await waitUntil('open', () => opened.length === 1);
  t.same(
    opened.map((s) => s.session_code),
    [code],
    'Enter opens the selected session',
  );

  await press('c');
  await waitUntil('the question', () => frame().includes('Close session'));
  await press('n');
  await waitUntil('the question gone', () => !frame().includes('Close session'));
  t.equal((await client.listSessions())[0]!.status, 'pending', 'n keeps it');
  await press('c');
  await waitUntil('the question', () => frame().includes('Close session'));
  await press('y');
  await waitUntil('the closed status', () => /Ada Lovelace\s+closed/.test(frame()));
  t.equal((await client.listSessions())[0]!.status, 'closed');
  await press('\r');
  t.equal(opened.length, 1, 'a closed session does not open');

  await press('q');
  await waitUntil('quit', () => quit === 1);
  t.equal(quit, 1);
});

// A paste or a slow SSH link: the name and its Enter arrive in one stdin write (Ink hands the
// handler "Grace Hopper\r" as one input), then the email's Enter; the broker gets the name.
t.test('new session: a name typed in one burst with its Enter', async (t) => {
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const client = new BrokerClient({ server: broker.url, token });
  t.teardown(() => client.close());
  const created: Array<Parameters<BrokerClient['createSession']>[0]> = [];
  const api = {
    listSessions: () => client.listSessions(),
    closeSession: (id: number) => client.closeSession(id),
    createSession: (input: Parameters<BrokerClient['createSession']>[0]) => {
      created.push(input);
      return client.createSession(input);
    },
  };
  const r = renderListening(<SessionBrowser api={api} server={broker.url} pollMs={200} onOpen={() => {}} onQuit={() => {}} />);
  t.teardown(() => r.unmount());
  const frame = () => r.lastFrame() ?? '';
  const settle = r.listening;

  await waitUntil('the empty list', () => frame().includes('No sessions yet'));
  await settle();
  r.stdin.write('n');
  await waitUntil('the name field', () => frame().includes('Customer name:'));
  await settle();
  r.stdin.write('Grace Hopper\r');
  await waitUntil('the email field', () => frame().includes('Customer email:'));
  await settle();
  r.stdin.write('\r');
  await waitUntil('the created screen', () => frame().includes('Session created'));
  t.same(created, [{ customer_name: 'Grace Hopper' }], 'the create call carries the name');
  t.equal((await client.listSessions())[0]!.customer_name, 'Grace Hopper', 'the broker saved it');

  // Name, Enter, email, Enter in a single write: what follows the first Enter fills the email field.
  r.stdin.write('x'); // back to the list
  await waitUntil('the list', () => frame().includes('n new session'));
  await settle();
  r.stdin.write('n');
  await waitUntil('the name field', () => frame().includes('Customer name:'));
  await settle();
  r.stdin.write('Linus Torvalds\r\r');
  await waitUntil('the second session', () => created.length === 2);
  t.same(created[1], { customer_name: 'Linus Torvalds' });

  // The text and the Enter as two chunks before React renders again: the Enter sees the text.
  await waitUntil('the created screen', () => frame().includes('Session created'));
  await settle();
  r.stdin.write('x');
  await waitUntil('the list', () => frame().includes('n new session'));
  await settle();
  r.stdin.write('n');
  await waitUntil('the name field', () => frame().includes('Customer name:'));
  await settle();
  r.stdin.write('Ada Lovelace');
  r.stdin.write('\r');
  await waitUntil('the email field', () => frame().includes('Customer email:'));
  await settle();
  r.stdin.write('\r');
  await waitUntil('the third session', () => created.length === 3);
  t.same(created[2], { customer_name: 'Ada Lovelace' }, 'not customer_name: null');

  // The name's chunk, then the email's Enter in a second chunk before the email field listens.
  await waitUntil('the created screen', () => frame().includes('Session created'));
  await settle();
  r.stdin.write('x');
  await waitUntil('the list', () => frame().includes('n new session'));
  await settle();
  r.stdin.write('n');
  await waitUntil('the name field', () => frame().includes('Customer name:'));
  await settle();
  r.stdin.write('Hedy Lamarr\r');
  r.stdin.write('\r');
  await waitUntil('the fourth session', () => created.length === 4);
  t.same(created[3], { customer_name: 'Hedy Lamarr' }, 'the early Enter reached the email field');
});

// The agent's repair of an update a viewer lost entirely (docs/protocol.md, "Receive reports and
// stream settings"): a viewer behind the newest update sent to it, once that update cannot still
// be in flight, needs a full frame; anything else does not.
import t from 'tap';
import { IN_FLIGHT_MS, UpdateRepair, missedNewestUpdate } from '../src/agent/session/update-repair.js';

t.test('missedNewestUpdate: behind, and the update went out over a second ago', async (t) => {
  const newest = { frameId: 500n, at: 10_000 };
  t.ok(missedNewestUpdate(499n, newest, 10_000 + IN_FLIGHT_MS + 1), 'behind and long gone: lost');
  t.notOk(missedNewestUpdate(499n, newest, 10_000 + IN_FLIGHT_MS), 'could still be on its way');
  t.notOk(missedNewestUpdate(500n, newest, 20_000), 'the viewer has it');
  t.notOk(missedNewestUpdate(501n, newest, 20_000), 'the viewer is ahead (a newer stream): nothing to repair');
  t.notOk(missedNewestUpdate(0n, undefined, 20_000), 'nothing sent yet');
});

t.test('UpdateRepair keeps the newest update per viewer and ignores reports without last_frame', async (t) => {
  let now = 0;
  const repair = new UpdateRepair(() => now);
  repair.sentTo([1, 2], 10n);
  now = 500;
  repair.sentTo([2], 11n);
  now = 1400;
  t.notOk(repair.needsFullFrame(1, undefined), 'an older viewer (no last_frame) changes nothing');
  t.notOk(repair.needsFullFrame(1, '10'), 'viewer 1 has its newest');
  t.notOk(repair.needsFullFrame(2, '10'), "viewer 2's newest may still be arriving");
  now = 1600;
  t.ok(repair.needsFullFrame(2, '10'), 'viewer 2 lost update 11');
  t.ok(repair.needsFullFrame(1, '9'), 'viewer 1 lost update 10');
  repair.removeViewer(2);
  t.notOk(repair.needsFullFrame(2, '10'), 'a viewer gone is forgotten');
  t.notOk(repair.needsFullFrame(1, '9223372036854775806'), 'a 64-bit id ahead of what was sent');
});

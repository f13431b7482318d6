// WriteWindow: a copy's writes never run more than its span ahead of the oldest unfinished one, so
// an interrupted copy's gaps all lie in its last span (which a resume writes again).
import t from 'tap';
import { WriteWindow } from '../src/client/write-window.js';

/** Lets every promise that can settle now settle (a pending admit cannot without `finished`). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test('chunks within the span are admitted at once; one past it waits for the oldest', async (t) => {
  const window = new WriteWindow(4 * 100);
  for (let i = 0; i < 4; i++) await window.admit(i * 100, 100);
  let admitted = false;
  const fifth = window.admit(400, 100).then(() => (admitted = true));
  await settle();
  t.notOk(admitted, 'the fifth chunk would end 500 bytes past the oldest unfinished one');
  window.finished(200);
  await settle();
  t.notOk(admitted, 'a newer chunk finishing does not move the oldest');
  window.finished(0);
  await fifth;
  t.ok(admitted, 'the oldest finished: the fifth is within the span of chunk 100');
});

t.test('a stalled chunk holds back every later one', async (t) => {
  const window = new WriteWindow(3 * 10);
  await window.admit(0, 10);
  await window.admit(10, 10);
  window.finished(10);
  await window.admit(20, 10);
  window.finished(20);
  const admitted: number[] = [];
  const later = [30, 40].map((position) => window.admit(position, 10).then(() => admitted.push(position)));
  await settle();
  t.same(admitted, [], 'chunk 0 is still on the way: nothing past byte 30 starts');
  window.finished(0);
  await Promise.all(later);
  t.same(
    admitted.sort((a, b) => a - b),
    [30, 40],
  );
});

t.test('an empty window admits anything', async (t) => {
  const window = new WriteWindow(10);
  let admitted = false;
  void window.admit(1_000_000, 500).then(() => (admitted = true));
  await settle();
  t.ok(admitted, 'a chunk larger than the span starts when nothing else is on the way');
});

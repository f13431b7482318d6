import t from 'tap';
import { VK, VK_MAX, VK_MIN, isKnownVk, vkCode, vkName } from '../src/protocol/virtual-keys.js';

t.test('codes match Microsoft table spot checks', async (t) => {
  t.equal(VK.LBUTTON, 0x01);
  t.equal(VK.RETURN, 0x0d);
  t.equal(VK.ESCAPE, 0x1b);
  t.equal(VK.KEY_0, 0x30);
  t.equal(VK.KEY_9, 0x39);
  t.equal(VK.KEY_A, 0x41);
  t.equal(VK.KEY_Z, 0x5a);
  t.equal(VK.F1, 0x70);
  t.equal(VK.F24, 0x87);
  t.equal(VK.LSHIFT, 0xa0);
  t.equal(VK.RMENU, 0xa5);
  t.equal(VK.VOLUME_MUTE, 0xad);
  t.equal(VK.MEDIA_PLAY_PAUSE, 0xb3);
  t.equal(VK.OEM_1, 0xba);
  t.equal(VK.OEM_102, 0xe2);
  t.equal(VK.OEM_CLEAR, 0xfe);
});

t.test('letters, digits, function keys and numpad are contiguous', async (t) => {
  for (let i = 0; i < 26; i++) {
    const letter = String.fromCharCode(65 + i);
    t.equal(VK[`KEY_${letter}` as keyof typeof VK], 0x41 + i, letter);
  }
  for (let i = 0; i < 10; i++) {
    t.equal(VK[`KEY_${i}` as keyof typeof VK], 0x30 + i);
    t.equal(VK[`NUMPAD${i}` as keyof typeof VK], 0x60 + i);
  }
  for (let i = 1; i <= 24; i++) t.equal(VK[`F${i}` as keyof typeof VK], 0x6f + i);
});

t.test('every code is in range', async (t) => {
  for (const [name, code] of Object.entries(VK)) {
    t.ok(code >= VK_MIN && code <= VK_MAX, name);
  }
});

t.test('vkName and vkCode', async (t) => {
  t.equal(vkName(0x0d), 'VK_RETURN');
  t.equal(vkName(0x41), 'VK_A');
  t.equal(vkName(0x30), 'VK_0');
  t.equal(vkName(0x15), 'VK_KANA');
  t.equal(vkName(0x07), '0x07');
  t.equal(vkName(-1), '-1');
  t.equal(vkName(1.5), '1.5');
  t.equal(vkName(Number.NaN), 'NaN');
  t.equal(vkCode('VK_RETURN'), 0x0d);
  t.equal(vkCode('return'), 0x0d);
  t.equal(vkCode('a'), 0x41);
  t.equal(vkCode('vk_0'), 0x30);
  t.equal(vkCode('KEY_Z'), 0x5a);
  t.equal(vkCode('nope'), undefined);
  t.equal(vkCode('constructor'), undefined);
  for (const code of Object.values(VK)) t.equal(vkCode(vkName(code)), code);
  t.ok(isKnownVk(0x41));
  t.notOk(isKnownVk(0x07));
});

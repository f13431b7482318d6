// The agent's platform layer against real parts: Xvfb with two RandR monitors, a PulseAudio
// daemon with two null sinks, a UDP socket for Wake-on-LAN.
import { createRequire } from 'node:module';
import { createSocket } from 'node:dgram';
import t from 'tap';
import { PulseAudioBackend } from '../src/agent/openctrol/audio/pulse.js';
import { AudioError } from '../src/agent/openctrol/audio/backend.js';
import { InputInjector } from '../src/agent/platform/input-injector.js';
import { jpegJsEncoder, turboEncoder } from '../src/agent/platform/jpeg-encoder.js';
import { RandrMonitorSource, parseListMonitors } from '../src/agent/platform/monitors.js';
import { PowerManager, type PowerCommand, powerCommand } from '../src/agent/openctrol/power.js';
import { loadRobot } from '../src/agent/platform/robot.js';
import { robotKeyForName, robotKeyForVirtualKey } from '../src/agent/platform/robot-keys.js';
import { RobotScreenCapture } from '../src/agent/platform/screen-capture.js';
import { X11ScreenCapture } from '../src/agent/platform/x11-capture.js';
import { magicPacket, parseBroadcast, parseMac, sendMagicPacket } from '../src/agent/openctrol/wake-on-lan.js';
import { VK } from '../src/protocol/virtual-keys.js';
import { startPulseAudio } from './helpers/pulseaudio.js';
import { MONITORS, startCatTerminal, startXvfb, waitFor } from './helpers/xvfb.js';

const turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as {
  FORMAT_RGB: number;
  decompressSync(image: Buffer, options: { format: number }): { data: Buffer; width: number; height: number };
};

t.test('parseListMonitors: primary first, DISPLAYn ids, odd lines skipped', async (t) => {
  const text = 'Monitors: 2\n 0: +HDMI-1 1280/340x1024/270+1920+0  HDMI-1\n 1: +*DP-1 1920/509x1080/286+0+0  DP-1\ngarbage\n';
  t.same(parseListMonitors(text), [
    { id: 'DISPLAY1', name: 'DP-1', isPrimary: true, width: 1920, height: 1080, x: 0, y: 0 },
    { id: 'DISPLAY2', name: 'HDMI-1', isPrimary: false, width: 1280, height: 1024, x: 1920, y: 0 },
  ]);
  const none = parseListMonitors('Monitors: 2\n 0: A 800/1x600/1+0+0 A\n 1: B 800/1x600/1+800+0 B\n');
  t.same(
    none.map((m) => [m.id, m.name, m.isPrimary]),
    [
      ['DISPLAY1', 'A', true],
      ['DISPLAY2', 'B', false],
    ],
    'no primary: the first counts',
  );
  t.same(parseListMonitors('Monitors: 0\n'), []);
});

t.test('virtual keys and Openctrol key names map to robotjs keys', async (t) => {
  t.equal(robotKeyForVirtualKey(VK.KEY_A), 'a');
  t.equal(robotKeyForVirtualKey(VK.KEY_7), '7');
  t.equal(robotKeyForVirtualKey(VK.F24), 'f24');
  t.equal(robotKeyForVirtualKey(VK.NUMPAD5), 'numpad_5');
  t.equal(robotKeyForVirtualKey(VK.OEM_5), '\\');
  t.equal(robotKeyForVirtualKey(VK.LCONTROL), 'left_control');
  t.equal(robotKeyForVirtualKey(VK.VOLUME_UP), 'audio_vol_up');
  t.equal(robotKeyForVirtualKey(VK.KANA), undefined);
  t.equal(robotKeyForName('CTRL'), 'control');
  t.equal(robotKeyForName('del'), 'delete');
  t.equal(robotKeyForName('F12'), 'f12');
  t.equal(robotKeyForName('A'), 'a');
  t.equal(robotKeyForName('HYPER'), undefined);
});

t.test('power: the OS command per platform, run through the injected executor', async (t) => {
  t.same(powerCommand('restart', 'linux'), { command: 'systemctl', args: ['reboot'] });
  t.same(powerCommand('shutdown', 'linux'), { command: 'systemctl', args: ['poweroff'] });
  t.same(powerCommand('restart', 'win32'), { command: 'shutdown', args: ['/r', '/t', '0'] });
  t.same(powerCommand('shutdown', 'darwin'), { command: 'shutdown', args: ['-h', 'now'] });
  t.equal(powerCommand('restart', 'aix'), null);
  const ran: PowerCommand[] = [];
  const power = new PowerManager(async (c) => void ran.push(c), 'linux');
  await power.run('shutdown');
  t.same(ran, [{ command: 'systemctl', args: ['poweroff'] }]);
  t.equal(new PowerManager(async () => undefined, 'aix').available, false);
});

t.test('wake-on-lan: a 102-byte magic packet reaches a UDP socket', async (t) => {
  t.same([...parseMac('AA-bb-cc-01-02-03')], [0xaa, 0xbb, 0xcc, 1, 2, 3]);
  t.same([...parseMac('aabbcc010203')], [0xaa, 0xbb, 0xcc, 1, 2, 3]);
  t.throws(() => parseMac('aa:bb:cc:01:02'), /not a MAC/);
  t.throws(() => parseMac('aa:bb:cc:01:02:0g'), /not a MAC/);
  t.same(parseBroadcast('192.168.1.255'), { address: '192.168.1.255', port: 9 });
  t.throws(() => parseBroadcast('300.1.1.1'));
  const socket = createSocket('udp4');
  t.teardown(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const received = new Promise<Buffer>((r) => socket.once('message', (msg) => r(msg)));
  const mac = parseMac('02:42:ac:11:00:02');
  await sendMagicPacket({ mac, address: '127.0.0.1', port: socket.address().port });
  const packet = await received;
  t.equal(packet.length, 102);
  t.same(packet, magicPacket(mac));
  t.same([...packet.subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
  for (let i = 0; i < 16; i++) t.same(packet.subarray(6 + i * 6, 12 + i * 6), mac);
});

t.test('PulseAudio backend changes real sinks', async (t) => {
  const pulse = await startPulseAudio();
  t.teardown(() => pulse.stop());
  const audio = new PulseAudioBackend(pulse.env);
  const status = await audio.status();
  t.same(
    status.devices.map((d) => [d.id, d.name, d.isDefault]),
    [
      ['speakers', 'Speakers', true],
      ['headset', 'Headset', false],
    ],
  );
  t.same(status.master, { volume: 100, muted: false });

  await audio.setMaster({ volume: 42, muted: true });
  await audio.setDevice('headset', { volume: 17 });
  let sinks = await pulse.sinks();
  t.same(
    sinks.map((s) => [s.name, s.volumePercent, s.mute]),
    [
      ['speakers', 42, true],
      ['headset', 17, false],
    ],
  );

  await audio.setDefault('headset');
  t.equal(await pulse.defaultSink(), 'headset');
  t.same((await audio.status()).master, { volume: 17, muted: false }, 'master follows the default device');
  await t.rejects(audio.setDevice('nope', { volume: 1 }), AudioError);
  await t.rejects(audio.setDefault('nope'), { name: 'AudioError', kind: 'device_not_found' });
  await t.rejects(new PulseAudioBackend({ ...pulse.env, PULSE_SERVER: 'unix:/nonexistent' }).status(), {
    name: 'AudioError',
    kind: 'unavailable',
  });
  sinks = await pulse.sinks();
  t.equal(sinks.length, 2);
});

t.test('on a real X display with two monitors', async (t) => {
  const xvfb = await startXvfb({ inProcessClient: true });
  t.teardown(() => xvfb.stop());
  // robotjs's capture opens $DISPLAY of this process.
  process.env.DISPLAY = xvfb.display;
  const robot = () => loadRobot(xvfb.display);

  const monitors = await new RandrMonitorSource(xvfb.env).list();
  t.same(
    monitors.map((m) => [m.id, m.name, m.x, m.y, m.width, m.height, m.isPrimary]),
    [
      ['DISPLAY1', 'DP-1', 0, 0, 1920, 1080, true],
      ['DISPLAY2', 'HDMI-1', 1920, 0, 1280, 1024, false],
    ],
  );
  await t.rejects(new RandrMonitorSource({ ...xvfb.env, DISPLAY: undefined }).list(), /DISPLAY is not set/);

  const x11 = await X11ScreenCapture.open(xvfb.display);
  t.teardown(() => x11.close());
  for (const capture of [new RobotScreenCapture(robot), x11]) {
    t.test(`capture (${capture.backend}) + JPEG of each monitor shows its own colour`, async (t) => {
      await xvfb.paint([
        { ...MONITORS[0]!, color: '#ff0000' },
        { ...MONITORS[1]!, color: '#0000ff' },
      ]);
      for (const [monitor, rgb] of [
        [monitors[0]!, [255, 0, 0]],
        [monitors[1]!, [0, 0, 255]],
      ] as const) {
        const frame = await capture.capture(monitor);
        t.equal(frame.width, monitor.width);
        t.equal(frame.height, monitor.height);
        t.equal(frame.stride, monitor.width * 4);
        for (const encoder of [turboEncoder(), jpegJsEncoder()]) {
          const jpeg = encoder.encode(frame, 60);
          t.same([...jpeg.subarray(0, 2)], [0xff, 0xd8], `${encoder.name} writes a JPEG`);
          const decoded = turbo.decompressSync(jpeg, { format: turbo.FORMAT_RGB });
          t.equal(decoded.width, monitor.width);
          const mid = (Math.floor(decoded.height / 2) * decoded.width + Math.floor(decoded.width / 2)) * 3;
          const pixel = [...decoded.data.subarray(mid, mid + 3)];
          t.ok(
            pixel.every((v, i) => Math.abs(v - rgb[i]!) < 16),
            `${encoder.name} ${monitor.id} centre ${pixel} ≈ ${rgb}`,
          );
        }
      }
      const clamped = await capture.capture({ x: 3000, y: 1000, width: 500, height: 500 });
      t.same([clamped.width, clamped.height], [200, 80], 'a rectangle leaving the screen is clamped');
    });
  }

  t.test('the pointer moves in the selected monitor’s coordinates', async (t) => {
    const input = new InputInjector(robot);
    input.setArea(monitors[1]!);
    input.moveTo(100, 200);
    t.same(await xvfb.mouse(), { x: 2020, y: 200 });
    input.moveBy(-50, 10);
    t.same(await xvfb.mouse(), { x: 1970, y: 210 });
    input.moveTo(-500, 5000);
    t.same(await xvfb.mouse(), { x: 1920, y: 1023 }, 'clamped to the monitor');
    input.moveNormalized(65535, 0);
    t.same(await xvfb.mouse(), { x: 3199, y: 0 });
    input.setArea(monitors[0]!);
    input.moveNormalized(32768, 32768);
    t.same(await xvfb.mouse(), { x: 960, y: 540 });
  });

  t.test('keys, modifiers and text reach an X client; releaseAll frees what is held', async (t) => {
    const term = await startCatTerminal(xvfb);
    t.teardown(() => term.stop());
    const input = new InputInjector(robot);
    input.setArea(monitors[0]!);
    for (const code of [VK.KEY_H, VK.KEY_I]) {
      input.virtualKey(code, true);
      input.virtualKey(code, false);
    }
    input.virtualKey(VK.KEY_X, true, { shift: true });
    input.virtualKey(VK.KEY_X, false, { shift: true });
    t.equal(input.virtualKey(0xe7, true), false, 'VK_PACKET has no local key');
    t.equal(input.unknownKeys, 1);
    input.text(' Ok:1!');
    input.virtualKey(VK.SHIFT, true);
    t.same(input.held.keys, ['shift']);
    input.button('left', true);
    input.releaseAll();
    t.same(input.held, { keys: [], buttons: [] });
    input.virtualKey(VK.KEY_Z, true);
    input.virtualKey(VK.KEY_Z, false);
    t.ok(await waitFor(() => term.read() === 'hiX Ok:1!z', 5000), `typed "${term.read()}"`);
  });
});

t.test('Windows audio backend: loads only on win32; maps the mixer to one default device', async (t) => {
  const { loadWindowsBackend, WindowsMixerBackend } = await import('../src/agent/openctrol/audio/windows.js');
  const { loadAudioBackend } = await import('../src/agent/openctrol/audio/index.js');
  t.equal(await loadWindowsBackend(), null, 'not on this platform');
  t.equal((await loadAudioBackend())?.name, 'pulseaudio', 'Linux uses pactl');
  // node-audio-volume-mixer cannot load off Windows: a stand-in with its four calls.
  const mixer = {
    level: 0.25,
    muted: false,
    getMasterVolumeLevelScalar() {
      return this.level;
    },
    setMasterVolumeLevelScalar(v: number) {
      this.level = v;
    },
    isMasterMuted() {
      return this.muted;
    },
    muteMaster(m: boolean) {
      this.muted = m;
    },
  };
  const audio = new WindowsMixerBackend(mixer);
  t.same(await audio.status(), {
    master: { volume: 25, muted: false },
    devices: [{ id: 'default', name: 'Default output', isDefault: true, volume: 25, muted: false }],
  });
  await audio.setDevice('default', { volume: 70, muted: true });
  t.same([mixer.level, mixer.muted], [0.7, true]);
  await t.rejects(audio.setDevice('other', { volume: 1 }), { name: 'AudioError', kind: 'device_not_found' });
  await t.rejects(audio.setDefault('default'), { name: 'AudioError', kind: 'not_supported' }, '501: no default-device switch');
});

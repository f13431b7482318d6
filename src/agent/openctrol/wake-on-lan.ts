// Wake-on-LAN: the magic packet (6 × 0xFF, then the MAC 16 times: 102 bytes) by UDP broadcast.
import { createSocket } from 'node:dgram';

export interface WolTarget {
  mac: Buffer;
  address: string;
  port: number;
}

export const DEFAULT_WOL_BROADCAST = '255.255.255.255';
export const DEFAULT_WOL_PORT = 9;

/** "aa:bb:cc:dd:ee:ff", "AA-BB-…" or "aabbccddeeff" → 6 bytes; throws on anything else. */
export function parseMac(text: string): Buffer {
  const trimmed = text.trim();
  if (!/^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(trimmed) && !/^[0-9a-f]{12}$/i.test(trimmed)) {
    throw new Error(`not a MAC address: "${text}" (expected aa:bb:cc:dd:ee:ff)`);
  }
  return Buffer.from(trimmed.replace(/[:-]/g, ''), 'hex');
}

/** "ADDRESS" or "ADDRESS:PORT" (IPv4; port 9 by default). */
export function parseBroadcast(text: string): { address: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[2] === undefined ? DEFAULT_WOL_PORT : Number(m[2]);
  if (!m || m[1]!.split('.').some((o) => Number(o) > 255) || port < 1 || port > 65535) {
    throw new Error(`not an IPv4 broadcast address[:port]: "${text}"`);
  }
  return { address: m[1]!, port };
}

export function magicPacket(mac: Buffer): Buffer {
  if (mac.length !== 6) throw new Error('a MAC address has 6 bytes');
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => mac)]);
}

export async function sendMagicPacket(target: WolTarget): Promise<void> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.setBroadcast(true);
        socket.send(magicPacket(target.mac), target.port, target.address, (err) => (err ? reject(err) : resolve()));
      });
    });
  } finally {
    socket.close();
  }
}

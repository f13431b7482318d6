// What really crosses the network: tcpdump writes every UDP datagram on loopback to and from one
// port into a pcap file, which is parsed here (classic pcap, Ethernet link type as Linux gives its
// loopback interface, IPv4 with its real header length, then the 8-byte UDP header).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PATIENCE_MS } from './patience.js';

export interface CapturedDatagram {
  sourcePort: number;
  destinationPort: number;
  payload: Buffer;
}

export interface UdpCapture {
  /** Stops tcpdump (it flushes its file on SIGTERM) and returns every datagram it saw, in order. */
  stop(): Promise<CapturedDatagram[]>;
}

/** Starts `tcpdump -i lo -U -w FILE udp port N` (a 16 MiB kernel buffer: no drops); resolves once it is capturing. */
export async function captureUdpPort(port: number): Promise<UdpCapture> {
  const file = join(mkdtempSync(join(tmpdir(), 'rac-pcap-')), 'session.pcap');
  const child = spawn('tcpdump', ['-i', 'lo', '-U', '-B', '16384', '-w', file, 'udp', 'port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start capturing in ${PATIENCE_MS} ms: ${stderr}`)), PATIENCE_MS);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited (${child.exitCode}) before capturing: ${stderr}`));
    });
  });
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      return parsePcap(readFileSync(file));
    },
  };
}

const PCAP_GLOBAL_HEADER_BYTES = 24;
const PCAP_RECORD_HEADER_BYTES = 16;
const LINKTYPE_ETHERNET = 1;
const ETHERNET_HEADER_BYTES = 14;
const ETHERTYPE_IPV4 = 0x0800;
const IP_PROTOCOL_UDP = 17;
const UDP_HEADER_BYTES = 8;

/** The UDP datagrams of a classic pcap file (microsecond or nanosecond, either byte order). */
export function parsePcap(file: Buffer): CapturedDatagram[] {
  const magic = file.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!littleEndian && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  const u32 = (offset: number) => (littleEndian ? file.readUInt32LE(offset) : file.readUInt32BE(offset));
  const linkType = u32(20);
  if (linkType !== LINKTYPE_ETHERNET) throw new Error(`pcap link type ${linkType}: only Ethernet (1) is parsed`);
  const datagrams: CapturedDatagram[] = [];
  let offset = PCAP_GLOBAL_HEADER_BYTES;
  while (offset + PCAP_RECORD_HEADER_BYTES <= file.length) {
    const captured = u32(offset + 8);
    const original = u32(offset + 12);
    const frame = file.subarray(offset + PCAP_RECORD_HEADER_BYTES, offset + PCAP_RECORD_HEADER_BYTES + captured);
    if (captured !== original) throw new Error(`a packet truncated by the capture (${captured} of ${original} bytes)`);
    const datagram = udpOfEthernetFrame(frame);
    if (datagram) datagrams.push(datagram);
    offset += PCAP_RECORD_HEADER_BYTES + captured;
  }
  return datagrams;
}

function udpOfEthernetFrame(frame: Buffer): CapturedDatagram | undefined {
  if (frame.length < ETHERNET_HEADER_BYTES || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return undefined;
  const ip = frame.subarray(ETHERNET_HEADER_BYTES);
  const version = ip[0]! >> 4;
  const headerBytes = (ip[0]! & 0x0f) * 4;
  if (version !== 4 || ip[9] !== IP_PROTOCOL_UDP) return undefined;
  const udp = ip.subarray(headerBytes, ip.readUInt16BE(2));
  const length = udp.readUInt16BE(4);
  return {
    sourcePort: udp.readUInt16BE(0),
    destinationPort: udp.readUInt16BE(2),
    payload: Buffer.from(udp.subarray(UDP_HEADER_BYTES, length)),
  };
}

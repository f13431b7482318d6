// Splits one JPEG into type-1 datagrams. Two sizes are in play and are easy to mix up:
//  - the DATAGRAM size: header (21 bytes) + payload, what goes on the wire. Ours defaults to 1200
//    bytes so no datagram is IP-fragmented on a real network (1280-byte IPv6 minimum MTU minus headers);
//  - the PAYLOAD (chunk) size: JPEG bytes per datagram. The reference client uses 60000, which is what
//    `--chunk-size 60000` means (datagrams of 60021 bytes).

import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_TOTAL_CHUNKS,
  FRAME_CHUNK_HEADER_BYTES,
  SEALED_OVERHEAD_BYTES,
  encodeFrameChunk,
} from './datagram.js';

export const DEFAULT_MAX_DATAGRAM_BYTES = 1200;
export const REFERENCE_CHUNK_PAYLOAD_BYTES = 60000;
/** The largest UDP payload over IPv4 (65535 − 20 IP − 8 UDP). */
export const MAX_UDP_DATAGRAM_BYTES = 65507;
export const MAX_CHUNK_PAYLOAD_BYTES = MAX_UDP_DATAGRAM_BYTES - FRAME_CHUNK_HEADER_BYTES;
/** The same for chunks that travel sealed (the seal adds its header and tag around the datagram). */
export const MAX_SEALED_CHUNK_PAYLOAD_BYTES = MAX_CHUNK_PAYLOAD_BYTES - SEALED_OVERHEAD_BYTES;
/** Sealed frames in datagrams of at most DEFAULT_MAX_DATAGRAM_BYTES on the wire. */
export const SEALED_DEFAULT_CHUNK_SIZE: ChunkSize = { maxDatagramBytes: DEFAULT_MAX_DATAGRAM_BYTES - SEALED_OVERHEAD_BYTES };

/** Either a cap on whole datagrams or an exact JPEG payload per chunk; default 1200-byte datagrams. */
export type ChunkSize = { maxDatagramBytes: number } | { payloadBytes: number };

/** JPEG bytes per chunk for a ChunkSize. Throws RangeError when no valid datagram fits it. */
export function chunkPayloadBytes(size: ChunkSize = { maxDatagramBytes: DEFAULT_MAX_DATAGRAM_BYTES }): number {
  const payload = 'payloadBytes' in size ? size.payloadBytes : size.maxDatagramBytes - FRAME_CHUNK_HEADER_BYTES;
  if (!Number.isInteger(payload) || payload < 1 || payload > MAX_CHUNK_PAYLOAD_BYTES) {
    throw new RangeError(
      'payloadBytes' in size
        ? `chunk payload ${size.payloadBytes}: must be 1–${MAX_CHUNK_PAYLOAD_BYTES} bytes`
        : `datagram size ${size.maxDatagramBytes}: must be ${FRAME_CHUNK_HEADER_BYTES + 1}–${MAX_UDP_DATAGRAM_BYTES} bytes`,
    );
  }
  return payload;
}

/**
 * The type-1 datagrams of one frame, in order: every chunk but the last carries exactly the payload
 * size, the last the rest (what the reference client does). Throws RangeError on an empty or
 * oversized JPEG or one that would need more chunks than receivers accept.
 */
export function chunkFrame(jpeg: Uint8Array, frameId: bigint, size?: ChunkSize): Buffer[] {
  const payload = chunkPayloadBytes(size);
  const totalSize = jpeg.byteLength;
  if (totalSize < 1 || totalSize > DEFAULT_MAX_FRAME_BYTES) {
    throw new RangeError(`JPEG of ${totalSize} bytes: must be 1–${DEFAULT_MAX_FRAME_BYTES}`);
  }
  const totalChunks = Math.ceil(totalSize / payload);
  if (totalChunks > DEFAULT_MAX_TOTAL_CHUNKS) {
    throw new RangeError(`JPEG of ${totalSize} bytes needs ${totalChunks} chunks of ${payload}: more than ${DEFAULT_MAX_TOTAL_CHUNKS}`);
  }
  const datagrams: Buffer[] = new Array(totalChunks);
  for (let chunkIndex = 0; chunkIndex < totalChunks; chunkIndex++) {
    const start = chunkIndex * payload;
    const data = jpeg.subarray(start, Math.min(start + payload, totalSize));
    datagrams[chunkIndex] = encodeFrameChunk({ frameId, chunkIndex, totalChunks, totalSize, data });
  }
  return datagrams;
}

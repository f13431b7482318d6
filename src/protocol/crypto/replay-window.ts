// The receiver's memory of which counters it has opened, as in RFC 6479 (and WireGuard): a ring of
// 32-bit blocks covering the `size` counters up to the highest one accepted, plus one spare block so
// that moving forward clears whole blocks instead of shifting bits. Constant memory, constant time
// per datagram (a jump clears at most the whole ring once).

export const DEFAULT_REPLAY_WINDOW = 4096;

const BLOCK_BITS = 32n;
const BLOCK_SHIFT = 5n;

export class ReplayWindow {
  private readonly size: bigint;
  private readonly blocks: Uint32Array;
  private readonly ringLength: bigint;
  /** The highest counter accepted so far; -1 before the first. */
  private highest = -1n;

  /** `size` counters below the highest accepted one are remembered: a positive multiple of 32. */
  constructor(size: number = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isSafeInteger(size) || size < 32 || size % 32 !== 0) {
      throw new RangeError(`replay window of ${size} counters: must be a positive multiple of 32`);
    }
    this.size = BigInt(size);
    this.blocks = new Uint32Array(size / 32 + 1);
    this.ringLength = BigInt(this.blocks.length);
  }

  /** True when `counter` is new and inside the window (neither seen nor too old). Changes nothing. */
  check(counter: bigint): boolean {
    if (counter < 0n) return false;
    if (counter > this.highest) return true;
    if (counter <= this.highest - this.size) return false;
    const [block, bit] = this.position(counter);
    return (this.blocks[block]! & bit) === 0;
  }

  /** Records `counter` as seen. Call only after `check` said yes and the datagram authenticated. */
  accept(counter: bigint): void {
    if (!this.check(counter)) return;
    if (counter > this.highest) this.advanceTo(counter);
    const [block, bit] = this.position(counter);
    this.blocks[block]! |= bit;
  }

  /** Clears the blocks the window moves into (they held counters now too old to matter). */
  private advanceTo(counter: bigint): void {
    const length = this.ringLength;
    const from = this.highest >> BLOCK_SHIFT;
    const to = counter >> BLOCK_SHIFT;
    const steps = to - from > length ? length : to - from;
    for (let i = 1n; i <= steps; i++) this.blocks[Number((from + i) % length)] = 0;
    this.highest = counter;
  }

  private position(counter: bigint): [block: number, bit: number] {
    const block = Number((counter >> BLOCK_SHIFT) % this.ringLength);
    return [block, (1 << Number(counter & (BLOCK_BITS - 1n))) >>> 0];
  }
}

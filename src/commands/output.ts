// How commands print: aligned tables and key/value blocks for people, one JSON document for scripts.
import { terminalSafe } from '../protocol/display-text.js';
import type { CommandIo } from './io.js';

export type Cell = string | number | boolean | null | undefined;

// Cells are mostly the broker's data (names, emails, reasons): never raw control characters.
const text = (cell: Cell): string => (cell === null || cell === undefined || cell === '' ? '-' : terminalSafe(String(cell)));

/** One header row and aligned columns; the last column is not padded. */
export function printTable(io: CommandIo, headers: string[], rows: Cell[][]): void {
  const cells = [headers, ...rows.map((row) => row.map(text))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  for (const row of cells) {
    io.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
  }
}

/** "label:  value" lines, labels aligned. */
export function printFields(io: CommandIo, fields: [string, Cell][]): void {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  for (const [label, value] of fields) io.stdout.write(`${`${label}:`.padEnd(width)}  ${text(value)}\n`);
}

export function printJson(io: CommandIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A message for people: stderr, so stdout stays data only. */
export function say(io: CommandIo, message: string): void {
  io.stderr.write(`${message}\n`);
}

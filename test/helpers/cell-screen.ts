// A tiny terminal model for tests: applies cursor moves (CSI r;c H), truecolour SGR and text
// to a grid of cells, so a renderer's output can be read back as colours.
export interface Cell {
  ch: string;
  fg?: [number, number, number];
  bg?: [number, number, number];
}

export class CellScreen {
  cells: Cell[][];
  row = 0;
  col = 0;
  private fg?: [number, number, number];
  private bg?: [number, number, number];
  writes = 0;

  constructor(
    readonly cols: number,
    readonly rows: number,
  ) {
    this.cells = Array.from({ length: rows }, () => Array.from({ length: cols }, () => ({ ch: ' ' })));
  }

  apply(text: string): void {
    const re = /\x1b\[([\d;]*)([A-Za-z])|([^\x1b])/gu;
    for (const m of text.matchAll(re)) {
      if (m[3] !== undefined) {
        this.cells[this.row]![this.col] = { ch: m[3], fg: this.fg, bg: this.bg };
        this.writes++;
        this.col++;
        continue;
      }
      const params = (m[1] ?? '').split(';').map((p) => (p === '' ? 0 : Number(p)));
      if (m[2] === 'H') {
        this.row = (params[0] || 1) - 1;
        this.col = (params[1] || 1) - 1;
      } else if (m[2] === 'm') {
        for (let i = 0; i < params.length; i++) {
          const p = params[i]!;
          if (p === 0) this.fg = this.bg = undefined;
          else if ((p === 38 || p === 48) && params[i + 1] === 2) {
            const rgb = params.slice(i + 2, i + 5) as [number, number, number];
            if (p === 38) this.fg = rgb;
            else this.bg = rgb;
            i += 4;
          }
        }
      }
    }
  }
}

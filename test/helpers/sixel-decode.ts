// A small sixel decoder for tests: palette (#i;2;r;g;b in percent), raster attributes, bands,
// repeats (!n), carriage return ($) and next band (-). Returns RGB pixels (unpainted = 0,0,0).
export function decodeSixel(seq: string): { width: number; height: number; data: Uint8Array } {
  const start = seq.indexOf('q');
  if (!seq.startsWith('\x1bP') || start < 0 || !seq.endsWith('\x1b\\')) throw new Error('not a sixel DCS sequence');
  const body = seq.slice(start + 1, -2);
  const raster = /^"(\d+);(\d+);(\d+);(\d+)/.exec(body);
  if (!raster) throw new Error('no raster attributes');
  const width = Number(raster[3]);
  const height = Number(raster[4]);
  const data = new Uint8Array(width * height * 3);
  const palette = new Map<number, [number, number, number]>();
  let i = raster[0].length;
  let color = 0;
  let x = 0;
  let band = 0;
  const paint = (ch: number, count: number) => {
    const bits = ch - 63;
    for (let n = 0; n < count; n++, x++) {
      for (let k = 0; k < 6; k++) {
        if (!(bits & (1 << k))) continue;
        const y = band * 6 + k;
        if (y >= height || x >= width) throw new Error(`pixel outside the raster at ${x},${y}`);
        const rgb = palette.get(color);
        if (!rgb) throw new Error(`colour ${color} used before it was defined`);
        data.set(rgb, (y * width + x) * 3);
      }
    }
  };
  while (i < body.length) {
    const ch = body[i]!;
    if (ch === '#') {
      const m = /^#(\d+)(?:;(\d+);(\d+);(\d+);(\d+))?/.exec(body.slice(i, i + 40))!;
      color = Number(m[1]);
      if (m[2] !== undefined) {
        if (m[2] !== '2') throw new Error('only RGB colours expected');
        palette.set(color, [m[3], m[4], m[5]].map((v) => Math.round((Number(v) * 255) / 100)) as [number, number, number]);
      }
      i += m[0].length;
    } else if (ch === '!') {
      const m = /^!(\d+)(.)/.exec(body.slice(i, i + 12))!;
      paint(m[2]!.charCodeAt(0), Number(m[1]));
      i += m[0].length;
    } else if (ch === '$') {
      x = 0;
      i++;
    } else if (ch === '-') {
      x = 0;
      band++;
      i++;
    } else {
      const code = ch.charCodeAt(0);
      if (code < 63 || code > 126) throw new Error(`unexpected byte ${code} in sixel data`);
      paint(code, 1);
      i++;
    }
  }
  return { width, height, data };
}

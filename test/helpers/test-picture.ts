// A known picture as a JPEG: four solid quadrants (red, green / blue, white), so a screen
// capture can be checked for the right colours in the right places.
import turbo from '@julusian/jpeg-turbo';

export const QUADRANT_COLOURS = {
  topLeft: [255, 0, 0],
  topRight: [0, 255, 0],
  bottomLeft: [0, 0, 255],
  bottomRight: [255, 255, 255],
} as const;

export function quadrantJpeg(width = 640, height = 360): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const c =
        y < height / 2
          ? x < width / 2
            ? QUADRANT_COLOURS.topLeft
            : QUADRANT_COLOURS.topRight
          : x < width / 2
            ? QUADRANT_COLOURS.bottomLeft
            : QUADRANT_COLOURS.bottomRight;
      rgb.set(c, (y * width + x) * 3);
    }
  return turbo.compressSync(rgb, { width, height, format: turbo.FORMAT_RGB, quality: 90, subsampling: turbo.SAMP_444 });
}

/** One solid colour as a JPEG. */
export function solidJpeg(rgb: readonly number[], width = 640, height = 360): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return turbo.compressSync(data, { width, height, format: turbo.FORMAT_RGB, quality: 90, subsampling: turbo.SAMP_444 });
}

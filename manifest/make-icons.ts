import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng, RgbaImage } from './png';
import { findRepoRoot } from './paths';

/** Regenerates manifest/color.png and manifest/outline.png: `npm run build && node dist/manifest/make-icons.js`. */

type Rgb = readonly [number, number, number];
type Inside = (x: number, y: number) => boolean;
type Point = readonly [number, number];

const WHITE: Rgb = [255, 255, 255];
const BRAND_BLUE: Rgb = [15, 108, 189];
const SCREEN_NAVY: Rgb = [10, 52, 105];
const PULSE_GREEN: Rgb = [110, 231, 168];
const CROSS_RED: Rgb = [209, 52, 56];
const SUBSAMPLES = 4;

function canvas(size: number): RgbaImage {
  return { width: size, height: size, data: new Uint8Array(size * size * 4) };
}

/** Paints `color` where `inside` holds, anti-aliased by supersampling, over what is already there. */
function fill(image: RgbaImage, inside: Inside, color: Rgb): void {
  for (let py = 0; py < image.height; py++) {
    for (let px = 0; px < image.width; px++) {
      let hits = 0;
      for (let sy = 0; sy < SUBSAMPLES; sy++) {
        for (let sx = 0; sx < SUBSAMPLES; sx++) {
          if (inside(px + (sx + 0.5) / SUBSAMPLES, py + (sy + 0.5) / SUBSAMPLES)) hits++;
        }
      }
      if (hits === 0) continue;
      const alpha = hits / (SUBSAMPLES * SUBSAMPLES);
      const i = (py * image.width + px) * 4;
      const d = image.data;
      const below = d[i + 3]! / 255;
      const out = alpha + below * (1 - alpha);
      for (let c = 0; c < 3; c++) d[i + c] = Math.round((color[c]! * alpha + d[i + c]! * below * (1 - alpha)) / out);
      d[i + 3] = Math.round(out * 255);
    }
  }
}

function roundedRect(x0: number, y0: number, x1: number, y1: number, r: number): Inside {
  return (x, y) => {
    if (x < x0 || x > x1 || y < y0 || y > y1) return false;
    const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
    const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
    return dx * dx + dy * dy <= r * r;
  };
}

function circle(cx: number, cy: number, r: number): Inside {
  return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

function polyline(points: readonly Point[], thickness: number): Inside {
  const half = thickness / 2;
  return (x, y) =>
    points.slice(1).some(([bx, by], i) => {
      const [ax, ay] = points[i]!;
      const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
      const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / len2));
      return (x - ax - t * (bx - ax)) ** 2 + (y - ay - t * (by - ay)) ** 2 <= half * half;
    });
}

function ring(outer: Inside, inner: Inside): Inside {
  return (x, y) => outer(x, y) && !inner(x, y);
}

/** 192x192, full colour: a monitor showing a pulse, with a first-aid badge, on a blue tile. */
export function colorIcon(): RgbaImage {
  const img = canvas(192);
  fill(img, roundedRect(0, 0, 192, 192, 36), BRAND_BLUE);
  fill(img, roundedRect(30, 46, 150, 130, 12), WHITE);
  fill(img, roundedRect(40, 56, 140, 120, 5), SCREEN_NAVY);
  fill(img, roundedRect(82, 130, 98, 148, 0), WHITE);
  fill(img, roundedRect(58, 146, 122, 158, 6), WHITE);
  const pulse: Point[] = [[46, 90], [66, 90], [74, 74], [86, 108], [97, 64], [107, 98], [114, 90], [134, 90]];
  fill(img, polyline(pulse, 7), PULSE_GREEN);
  fill(img, circle(148, 52, 28), BRAND_BLUE);
  fill(img, circle(148, 52, 23), WHITE);
  fill(img, roundedRect(143, 37, 153, 67, 2), CROSS_RED);
  fill(img, roundedRect(133, 47, 163, 57, 2), CROSS_RED);
  return img;
}

/** 32x32, white on transparent (Teams tints it): the same monitor and pulse as outlines. */
export function outlineIcon(): RgbaImage {
  const img = canvas(32);
  fill(img, ring(roundedRect(3, 5, 29, 23, 2.5), roundedRect(5, 7, 27, 21, 1)), WHITE);
  fill(img, roundedRect(15, 23, 17, 26, 0), WHITE);
  fill(img, roundedRect(10, 26, 22, 28, 1), WHITE);
  const pulse: Point[] = [[7, 15], [11, 15], [13, 11], [16, 19], [18.5, 10], [20.5, 15], [25, 15]];
  fill(img, polyline(pulse, 2), WHITE);
  return img;
}

export function writeIcons(manifestDir: string): string[] {
  const files = [
    [join(manifestDir, 'color.png'), colorIcon()],
    [join(manifestDir, 'outline.png'), outlineIcon()],
  ] as const;
  for (const [path, image] of files) writeFileSync(path, encodePng(image));
  return files.map(([path]) => path);
}

if (require.main === module) {
  for (const path of writeIcons(join(findRepoRoot(__dirname), 'manifest'))) console.log(`wrote ${path}`);
}

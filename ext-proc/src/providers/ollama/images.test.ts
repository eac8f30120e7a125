import { describe, expect, it } from 'vitest';
import { isBase64, sniffMediaType } from './images.js';

const b64 = (bytes: number[] | string) => Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)).toString('base64');

describe('sniffMediaType', () => {
  it.each([
    ['image/png', b64([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])],
    ['image/jpeg', b64([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46])],
    ['image/gif', b64('GIF89a\x01\x00\x01\x00')],
    ['image/gif', b64('GIF87a\x01\x00\x01\x00')],
    ['image/webp', b64('RIFF\x24\x00\x00\x00WEBPVP8 ')],
    ['application/octet-stream', b64('RIFF\x24\x00\x00\x00WAVEfmt ')],
    ['application/octet-stream', b64('hello world')],
    ['application/octet-stream', ''],
  ])('%s', (type, data) => {
    expect(sniffMediaType(data)).toBe(type);
  });

  it('reads wrapped base64 (line breaks, as Go decoders accept)', () => {
    const png = b64([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    expect(sniffMediaType(`${png.slice(0, 4)}\r\n${png.slice(4)}`)).toBe('image/png');
  });
});

describe('isBase64', () => {
  it('accepts standard base64 with padding and line breaks', () => {
    for (const s of ['', 'QQ==', 'QUI=', 'QUJD', 'QUJD\nREVG', 'a+b/']) expect(isBase64(s)).toBe(true);
  });
  it('refuses URLs, data URLs, base64url and misplaced padding', () => {
    for (const s of ['https://x/a.png', 'data:image/png;base64,QUJD', 'a-b_', 'QQ==QQ==', 'QUJD!']) expect(isBase64(s)).toBe(false);
  });
});

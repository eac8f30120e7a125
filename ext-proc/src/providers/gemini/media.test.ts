import { describe, expect, it } from 'vitest';
import { imageMimeFromUrl, isImageMime, parseDataUri } from './media.js';

describe('parseDataUri', () => {
  it('splits base64 data URIs, parameters allowed', () => {
    expect(parseDataUri('data:image/PNG;base64,iVBORw0KGgo=')).toEqual({ mediaType: 'image/png', data: 'iVBORw0KGgo=' });
    expect(parseDataUri('data:image/jpeg;name=a.jpg;base64,/9j/')).toEqual({ mediaType: 'image/jpeg', data: '/9j/' });
  });
  it.each(['data:image/png,raw', 'data:;base64,xx', 'https://x/a.png', 'data:image/png;base64'])('refuses %s', (uri) => {
    expect(parseDataUri(uri)).toBeUndefined();
  });
});

describe('imageMimeFromUrl', () => {
  it.each([
    ['https://example.com/a.png', 'image/png'],
    ['https://example.com/dir.v2/a.JPG?x=1#y', 'image/jpeg'],
    ['https://example.com/a.jpeg', 'image/jpeg'],
    ['gs://bucket/path/b.webp', 'image/webp'],
    ['https://example.com/c.heic', 'image/heic'],
    ['https://example.com/c.heif', 'image/heif'],
    ['https://example.com/c.gif', undefined],
    ['https://example.com/dir.png/file', undefined],
    ['https://example.com/noext', undefined],
    ['not a url', undefined],
  ])('%s → %s', (url, mime) => expect(imageMimeFromUrl(url)).toBe(mime));
});

describe('isImageMime', () => {
  it('is true for image/* only', () => {
    expect(isImageMime('image/png')).toBe(true);
    expect(isImageMime('IMAGE/JPEG')).toBe(true);
    expect(isImageMime('application/pdf')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { findPii } from './find.js';
import type { PiiType } from './types.js';

/** What findPii sees in `text`, as [type, value] pairs. */
function seen(text: string): Array<[PiiType, string]> {
  return findPii(text).map((f) => [f.type, text.slice(f.start, f.end)]);
}

/** Each positive is found whole, as its type, inside an ordinary sentence. */
const POSITIVES: Record<PiiType, string[]> = {
  email: ['ana.garcia@example.com', 'j.doe+news@mail.co.uk', 'ANA@EXAMPLE.ES', 'x_y%z@sub.empresa-uno.org'],
  phone: [
    '+34 612 345 678',
    '+34612345678',
    '0034 612 345 678',
    '612 345 678',
    '612 34 56 78',
    '91 123 45 67',
    '912-345-678',
    '+1 (415) 555-2671',
    '(415) 555-2671',
    '415-555-2671',
    '415.555.2671',
    '1-800-555-0199',
    '+44 20 7946 0958',
    '+49 30 901820',
  ],
  card: [
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '4111111111111111',
    '5500 0000 0000 0004',
    '3782 822463 10005',
    '6011 1111 1111 1117',
    '4222222222222',
    '2223 0031 2200 3222',
  ],
  iban: [
    'ES91 2100 0418 4502 0005 1332',
    'ES9121000418450200051332',
    'DE89 3704 0044 0532 0130 00',
    'GB29 NWBK 6016 1331 9268 19',
    'FR14 2004 1010 0505 0001 3M02 606',
    'NL91ABNA0417164300',
  ],
  dni: ['12345678Z', '12345678-Z', '12.345.678-Z', '00000000T', '87654321x'],
  nie: ['X1234567L', 'Y-1234567-X', 'Z 1234567 R'],
  ssn: ['123-45-6780', '536-22-8123', '536 22 8123'],
  ip: ['192.168.1.10', '8.8.8.8', '2001:db8::1', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', 'fe80::1ff:fe23:4567:890a', '::ffff:192.0.2.128', '::1'],
};

describe('findPii: positives', () => {
  for (const [type, values] of Object.entries(POSITIVES) as Array<[PiiType, string[]]>) {
    it.each(values)(`${type}: %s`, (value) => {
      expect(seen(`Los datos son ${value}, gracias.`)).toEqual([[type, value]]);
      expect(seen(`${value}`)).toEqual([[type, value]]);
    });
  }

  it('unformatted national phones count after a word that says "phone"', () => {
    expect(seen('Llámame al 612345678 mañana')).toEqual([['phone', '612345678']]);
    expect(seen('call me at 4155552671')).toEqual([['phone', '4155552671']]);
    expect(seen('Tel: 912345678')).toEqual([['phone', '912345678']]);
    expect(seen('mi móvil es el 698765432')).toEqual([['phone', '698765432']]);
  });

  it('nine digits run together are an SSN where the text says so', () => {
    expect(seen('SSN: 536228123')).toEqual([['ssn', '536228123']]);
  });

  it('an address with a port, and an address ending a sentence', () => {
    expect(seen('connect to 10.0.0.1:8080 now')).toEqual([['ip', '10.0.0.1']]);
    expect(seen('the server is 2001:db8::42.')).toEqual([['ip', '2001:db8::42']]);
  });

  it('several values in one text, in order, each once', () => {
    const text = 'Ana (ana@x.es, +34 612 345 678) paid with 4111 1111 1111 1111 from ES91 2100 0418 4502 0005 1332; DNI 12345678Z, IP 10.1.2.3.';
    expect(seen(text).map(([t]) => t)).toEqual(['email', 'phone', 'card', 'iban', 'dni', 'ip']);
  });
});

/** Valid-looking but wrong: a checksum that fails, a shape that is something else. */
const HARD_NEGATIVES: Record<PiiType, string[]> = {
  email: ['icon@2x.png', '@username', 'react@18.2.0', 'user@localhost', 'git@github.com:org/repo.git', 'ana at example dot com'],
  phone: [
    'in 2024',
    'costs $1,299.99',
    'version 10.4.12',
    'order 612345678',
    'pedido 712345678',
    'invoice 4155552671',
    '612345678',
    '2024-01-15',
    '12:30:45',
    'una población de 700 000 000',
    'cuesta 612.345.678 €',
    '+5 points',
    '+2024-01-15',
    'ISBN 978-3-16-148410-0',
    '1.234.567',
    '3.14159265',
    '+34 612 34',
    '+1 (123) 555-2671',
  ],
  card: [
    '4111 1111 1111 1112',
    '4111111111111112',
    '1234 5678 9012 3456',
    '1700000000000',
    '0000 0000 0000 0000',
    '41111111111111111111',
    '4111 1111 1111 1111 1111 1',
  ],
  iban: ['ES91 2100 0418 4502 0005 1333', 'DE89 3704 0044 0532 0130 01', 'XX12 3456 7890 1234 5678', 'ES91', 'GB29NWBK60161331926819X', 'NL91ABNA041716430'],
  dni: ['12345678A', '12345678', '87654321Z', 'A12345678Z'],
  nie: ['X1234567A', 'Y1234567L', 'Z-1234567-T'],
  ssn: ['000-12-3456', '666-12-3456', '912-34-5678', '123-00-4567', '123-45-0000', '078-05-1120', '536228123', '123-45-67890'],
  ip: ['version 1.2.3.4', 'v1.2.3.4', '256.1.1.1', '1.2.3.4.5', '12:30:45', '00:1A:2B:3C:4D:5E', 'std::vector', 'dead::beef', '3.14.15', '1.2.3', '::', 'A::B'],
};

describe('findPii: hard negatives', () => {
  for (const [type, values] of Object.entries(HARD_NEGATIVES) as Array<[PiiType, string[]]>) {
    it.each(values)(`not ${type}: %s`, (value) => {
      expect(seen(`Nota: ${value} y nada más.`).filter(([t]) => t === type)).toEqual([]);
    });
  }

  it('a checksum-failing card, IBAN, DNI or NIE is found as nothing at all', () => {
    for (const text of ['4111 1111 1111 1112', 'ES91 2100 0418 4502 0005 1333', '12345678A', 'X1234567A']) expect(seen(text)).toEqual([]);
  });

  it('a card printed next to other numbers is found; loose digits among them are not a card', () => {
    expect(seen('+34 612 345 678 4111 1111 1111 1111 ok')).toEqual([
      ['phone', '+34 612 345 678'],
      ['card', '4111 1111 1111 1111'],
    ]);
    // 4111111111111111 inside a longer run of groups is not taken for a card.
    expect(seen('ids 12 4111111111111111 7').filter(([t]) => t === 'card')).toEqual([]);
  });

  it('the phone-looking digits inside an e-mail are part of the e-mail', () => {
    expect(seen('juan.612345678@gmail.com')).toEqual([['email', 'juan.612345678@gmail.com']]);
  });
});

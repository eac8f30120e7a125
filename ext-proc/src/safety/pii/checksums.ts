/*
 * The check digits that tell a real identifier from a number that only looks like one. A
 * detector that skipped them would flag every 16-digit order id as a card.
 */

/** Luhn (ISO/IEC 7812): payment card numbers. `digits` holds digits only. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * ISO 13616 mod-97: the IBAN moved four characters to the end, letters as 10..35, is 1 mod 97.
 * `iban` holds upper-case letters and digits only.
 */
export function ibanChecksumValid(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    // Digits fold in one at a time, letters as their two digits: the remainder never leaves int range.
    if (c >= 48 && c <= 57) rest = (rest * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rest = (rest * 100 + (c - 55)) % 97;
    else return false;
  }
  return rest === 1;
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** The control letter of a Spanish DNI number (the NIE's, once X/Y/Z became 0/1/2). */
export function spanishControlLetter(number: number): string {
  return DNI_LETTERS[number % 23]!;
}

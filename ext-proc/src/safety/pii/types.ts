/** The kinds of personal data the gateway finds in prompts. */
export type PiiType = 'email' | 'phone' | 'card' | 'iban' | 'dni' | 'nie' | 'ssn' | 'ip';

export const PII_TYPES: readonly PiiType[] = ['email', 'phone', 'card', 'iban', 'dni', 'nie', 'ssn', 'ip'];

/** Per tenant (and PII_MODE for everyone else): leave prompts alone, count what is in them, or hide it from the provider. */
export type PiiMode = 'off' | 'detect' | 'redact';

export const PII_MODES: readonly PiiMode[] = ['off', 'detect', 'redact'];

/** One value found in a text: `text.slice(start, end)`. */
export interface Finding {
  type: PiiType;
  start: number;
  end: number;
}

/** The word inside a placeholder, `<EMAIL_1>`. */
export const PLACEHOLDER_LABEL: Readonly<Record<PiiType, string>> = {
  email: 'EMAIL',
  phone: 'PHONE',
  card: 'CARD',
  iban: 'IBAN',
  dni: 'DNI',
  nie: 'NIE',
  ssn: 'SSN',
  ip: 'IP',
};

export type Counts = Partial<Record<PiiType, number>>;

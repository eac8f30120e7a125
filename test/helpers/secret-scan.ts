/*
 * Looks for planted secrets in what a system lets anyone observe (logs, responses, metrics,
 * stored data): each secret in clear, its last 8 characters, base64 / base64url at any byte
 * alignment, URL- and hex-encoded, and its masked tail as providers quote it ("****abcd").
 */

/** A secret to look for, by a name that says what it is (never the value in reports). */
export interface Secret {
  name: string;
  value: string;
  /** Other byte forms of the same secret (e.g. a hex master key's raw bytes), searched in base64. */
  bytes?: Buffer[];
}

/** One piece of observed material: where it came from and its text. */
export interface Material {
  source: string;
  text: string;
}

export interface Leak {
  secret: string;
  form: string;
  source: string;
  /** The text around the hit, with the hit itself replaced by `<secret/form>`. */
  excerpt: string;
}

interface Needle {
  form: string;
  /** Plain substring (case-sensitive unless `ci`), or a pattern. */
  find: string | RegExp;
  ci?: boolean;
}

/** The shortest encoded fragment worth looking for: below this, random text matches by chance. */
const MIN_FRAGMENT = 8;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The base64 text that `bytes` produce wherever they sit in a longer encoded string: for each of
 * the three byte alignments, the characters that depend on these bytes alone.
 */
export function base64Fragments(bytes: Buffer): string[] {
  const out = new Set<string>();
  for (let pad = 0; pad < 3; pad++) {
    const enc = Buffer.concat([Buffer.alloc(pad), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    // The first group mixes in `pad` foreign bytes; the last one, unless complete, the bytes after.
    const start = pad === 0 ? 0 : 4;
    const end = (pad + bytes.length) % 3 === 0 ? enc.length : Math.floor((pad + bytes.length) / 3) * 4;
    const core = enc.slice(start, end);
    if (core.length >= MIN_FRAGMENT) out.add(core);
  }
  return [...out];
}

/** Every form of a secret the scan looks for. */
export function needlesFor(secret: Secret): Needle[] {
  const v = secret.value;
  const needles: Needle[] = [{ form: 'clear', find: v }];
  if (v.length >= 16) needles.push({ form: 'last 8 characters', find: v.slice(-8) });
  for (const [i, bytes] of [Buffer.from(v, 'utf8'), ...(secret.bytes ?? [])].entries()) {
    const what = i === 0 ? '' : ' (raw bytes)';
    for (const f of base64Fragments(bytes)) {
      needles.push({ form: `base64${what}`, find: f });
      const url = f.replace(/\+/g, '-').replace(/\//g, '_');
      if (url !== f) needles.push({ form: `base64url${what}`, find: url });
    }
    if (i > 0) needles.push({ form: 'hex (raw bytes)', find: bytes.toString('hex'), ci: true });
  }
  const uri = encodeURIComponent(v);
  if (uri !== v) needles.push({ form: 'URL-encoded', find: uri });
  const form = new URLSearchParams({ k: v }).toString().slice(2);
  if (form !== v && form !== uri) needles.push({ form: 'form-encoded', find: form });
  needles.push({ form: 'hex', find: Buffer.from(v, 'utf8').toString('hex'), ci: true });
  // How providers quote a refused key: stars (or an ellipsis) and its last 4 characters.
  if (v.length >= 12) needles.push({ form: 'masked tail', find: new RegExp(`(?:\\*{3,}|\\.{3}|…|x{4,})${escapeRe(v.slice(-4))}`) });
  return needles;
}

/** Every place a secret, in any of its forms, appears in the material. */
export function findLeaks(secrets: readonly Secret[], material: readonly Material[]): Leak[] {
  const leaks: Leak[] = [];
  const plan = secrets.map((s) => ({ s, needles: needlesFor(s) }));
  for (const m of material) {
    let lower: string | undefined;
    for (const { s, needles } of plan) {
      for (const n of needles) {
        let at = -1;
        let len = 0;
        if (typeof n.find === 'string') {
          const hay = n.ci ? (lower ??= m.text.toLowerCase()) : m.text;
          at = hay.indexOf(n.ci ? n.find.toLowerCase() : n.find);
          len = n.find.length;
        } else {
          const hit = n.find.exec(m.text);
          if (hit) {
            at = hit.index;
            len = hit[0].length;
          }
        }
        if (at < 0) continue;
        const before = m.text.slice(Math.max(0, at - 80), at);
        const after = m.text.slice(at + len, at + len + 80);
        leaks.push({ secret: s.name, form: n.form, source: m.source, excerpt: `${before}<${s.name}/${n.form}>${after}`.replace(/\s+/g, ' ') });
        // One report per secret and piece of material: its clearest form is enough.
        break;
      }
    }
  }
  return leaks;
}

/** A leak list as lines a failing assertion can show. */
export function describeLeaks(leaks: readonly Leak[]): string[] {
  return leaks.map((l) => `${l.secret} (${l.form}) in ${l.source}: …${l.excerpt}…`);
}

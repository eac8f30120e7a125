import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The project root, found by walking up from this module (works from src/ and from dist/). */
export function repoRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'llm-gateway-ext-proc') return (root = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the project root (package.json named llm-gateway-ext-proc)');
    dir = up;
  }
}

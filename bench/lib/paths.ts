/**
 * The project root, found by walking up from this module to the package.json named
 * llm-gateway-ext-proc (works from bench/lib and from dist/bench/lib). The benchmark keeps its own
 * copy so that it depends on nothing inside the processor's source tree.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'llm-gateway-ext-proc';
let root: string | undefined;

export function benchRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return (root = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the project root (package.json named ${PACKAGE_NAME})`);
    dir = up;
  }
}

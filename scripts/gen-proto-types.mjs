// Generates TypeScript types for the Envoy ext_proc protos shipped inside @grpc/grpc-js-xds.
// The output (protos/generated/) is a build artefact and is not committed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const out = path.join(root, 'protos', 'generated');
const marker = path.join(out, 'external_processor.ts');
const lock = path.join(root, 'package-lock.json');

if (existsSync(marker) && (!existsSync(lock) || statSync(marker).mtimeMs >= statSync(lock).mtimeMs)) process.exit(0);

mkdirSync(out, { recursive: true });
const gen = path.join(path.dirname(require.resolve('@grpc/proto-loader/package.json')), 'build', 'bin', 'proto-loader-gen-types.js');
const includes = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].flatMap((d) => ['-I', path.join(deps, d)]);
execFileSync(
  process.execPath,
  [
    gen,
    '--keepCase',
    '--longs=String',
    '--enums=String',
    '--oneofs',
    '--grpcLib=@grpc/grpc-js',
    ...includes,
    '-O',
    out,
    'envoy/service/ext_proc/v3/external_processor.proto',
  ],
  { stdio: 'inherit' },
);
// The generator writes extensionless relative imports; ESM (NodeNext) needs the `.js` suffix.
for (const file of readdirSync(out, { recursive: true })) {
  if (!String(file).endsWith('.ts')) continue;
  const p = path.join(out, String(file));
  const src = readFileSync(p, 'utf8');
  writeFileSync(
    p,
    src.replace(/(from ')(\.{1,2}\/[^']+)(')/g, (_m, a, spec, b) => `${a}${spec}.js${b}`),
  );
}

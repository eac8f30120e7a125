// Loads Envoy's ext_proc service definition from the protos shipped in @grpc/grpc-js-xds
// (there is no standalone Envoy protos package on npm) and re-exports the generated types.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/external_processor.js';

export type { ProcessingRequest__Output as ProcessingRequest } from './generated/envoy/service/ext_proc/v3/ProcessingRequest.js';
export type { ProcessingResponse } from './generated/envoy/service/ext_proc/v3/ProcessingResponse.js';
export type { HeaderValueOption } from './generated/envoy/config/core/v3/HeaderValueOption.js';
export type { HeaderMap__Output as HeaderMap } from './generated/envoy/config/core/v3/HeaderMap.js';
export type { ExternalProcessorHandlers } from './generated/envoy/service/ext_proc/v3/ExternalProcessor.js';
export type { ProcessingMode } from './generated/envoy/extensions/filters/http/ext_proc/v3/ProcessingMode.js';

const require = createRequire(import.meta.url);

export function protoIncludeDirs(): string[] {
  const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(deps, d));
}

/** The loader options must match the flags the types were generated with (scripts/gen-proto-types.mjs). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  oneofs: true,
  defaults: false,
};

let definition: protoLoader.PackageDefinition | undefined;
let cached: ProtoGrpcType | undefined;

/** The ext_proc service definition (with its message (de)serialisers), loaded once. */
export function extProcPackageDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
    ...LOADER_OPTIONS,
    includeDirs: protoIncludeDirs(),
  });
  return definition;
}

/** The same definition as a grpc-js package, for clients (tests drive the processor with it). */
export function loadExtProcProto(): ProtoGrpcType {
  cached ??= grpc.loadPackageDefinition(extProcPackageDefinition()) as unknown as ProtoGrpcType;
  return cached;
}

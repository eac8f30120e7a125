import type { ProcessingRequest, ProcessingResponse } from '../../../protos/ext-proc.js';
import type { Model } from '../catalog/load.js';
import { GatewayError } from '../errors.js';
import type { WireFormat } from '../providers/canonical/format.js';
import { FORMATS } from '../providers/formats.js';
import { BACKEND_METADATA_KEY, ROUTE_CONTEXT_KEY } from '../route/chains.js';
import { decodeRouteContext, type RouteContext } from '../route/route-context.js';
import type { UpstreamTarget } from '../route/upstream.js';
import { headerMapToRecord, setHeader } from '../util/headers.js';
import { AnswerTranslator, upstreamErrorForCaller } from './answer-translator.js';
import { dispatchPhase } from './phases.js';
import { API_HEADERS, retargetSameFormatBody } from './request-headers.js';
import { METADATA_NAMESPACE, type GatewayContext } from './exchange.js';
import { continueRequestBody, continueRequestHeaders, continueResponseBody, continueResponseHeaders, immediate } from './responses.js';

/** Attribute under which Envoy sends the picked endpoint's metadata to an upstream ext_proc filter. */
const HOST_METADATA_ATTRIBUTE = 'xds.upstream_host_metadata';

/** Our key's string value inside the endpoint metadata's text form. */
const BACKEND_VALUE = new RegExp(`key: "${BACKEND_METADATA_KEY}"\\s*value \\{\\s*string_value: "((?:[^"\\\\]|\\\\.)*)"`);

/**
 * The chain member a stream's first message names when the upstream (per-attempt) filter of a
 * chain cluster opened it; undefined for router-level streams.
 *
 * The endpoint's metadata arrives as text-format protobuf (`filter_metadata { key: "llm_gateway"
 * value { fields { key: "backend" value { string_value: "..." } } } }`); only our key is read.
 */
export function chainAttemptBackend(req: ProcessingRequest): string | undefined {
  for (const struct of Object.values(req.attributes ?? {})) {
    const v = struct.fields?.[HOST_METADATA_ATTRIBUTE];
    const text = v?.stringValue;
    if (typeof text !== 'string') continue;
    const m = BACKEND_VALUE.exec(text);
    if (m) return m[1]!.replace(/\\(.)/g, '$1');
  }
  return undefined;
}

/**
 * One attempt of a chained call, seen by the upstream ext_proc filter after Envoy picked the
 * chain member: the caller's body (Envoy re-sends the original on each attempt) is translated
 * for that member, and its answer translated back to the caller's API. Everything it needs comes
 * with the attempt (endpoint metadata and the route context header), so any replica can serve it.
 * Metering stays with the router-level processor, which sees the final answer.
 */
export class UpstreamExchange {
  private route: RouteContext | undefined;
  private model: Model | undefined;
  private target: UpstreamTarget | undefined;
  private caller: WireFormat = FORMATS.openai;
  private backend: WireFormat | undefined;
  private translator: AnswerTranslator | undefined;
  private attempt = 1;
  private status = 0;
  private bufferedError = false;

  constructor(
    private readonly ctx: GatewayContext,
    /** The chain member Envoy picked for this attempt (catalog model id). */
    private readonly backendId: string,
  ) {}

  handle(req: ProcessingRequest): ProcessingResponse {
    try {
      return dispatchPhase<ProcessingResponse>(req, {
        requestHeaders: (r) => this.onRequestHeaders(r),
        requestBody: (r) => this.onRequestBody(r),
        responseHeaders: (r) => this.onResponseHeaders(r),
        responseBody: (r) => this.onResponseBody(r),
      });
    } catch (err) {
      return this.fail(err);
    }
  }

  close(): void {}

  private onRequestHeaders(req: ProcessingRequest): ProcessingResponse {
    const h = headerMapToRecord(req.request_headers?.headers);
    const meta = req.metadata_context?.filter_metadata?.[METADATA_NAMESPACE]?.fields?.[ROUTE_CONTEXT_KEY];
    this.route = decodeRouteContext(meta?.stringValue ?? undefined);
    this.caller = FORMATS[this.route.caller];
    this.attempt = Number(h['x-envoy-attempt-count'] ?? '1') || 1;
    const model = this.ctx.catalog.find(this.backendId);
    if (!model) throw new GatewayError('unavailable', `Fallback member ${this.backendId} is not configured on this gateway.`, { code: 'provider_not_configured' });
    this.model = model;
    this.target = this.ctx.resolver.chatTarget(model);
    this.backend = FORMATS[model.provider.format];
    const call = this.backend.upstreamCall({ basePath: model.provider.basePath, upstreamModel: model.upstreamId, stream: this.route.stream, credential: this.target.credential });
    const set = [setHeader(':path', call.path), setHeader(':authority', this.target.authority), ...call.headers.map(([k, v]) => setHeader(k, v))];
    // Credential and API headers of every format: an earlier attempt's must not leak into the next.
    const remove = ['x-envoy-attempt-count', ...API_HEADERS.filter((k) => !call.headers.some(([n]) => n === k))];
    return continueRequestHeaders({ set, remove });
  }

  private onRequestBody(req: ProcessingRequest): ProcessingResponse {
    const route = this.route!;
    const model = this.model!;
    const backend = this.backend!;
    const parsed = JSON.parse((req.request_body?.body ?? Buffer.alloc(0)).toString('utf8')) as Record<string, unknown>;
    const chat = this.caller.parseRequest(parsed, { pathModel: route.model, stream: route.stream });
    let body: Record<string, unknown>;
    if (backend.id === this.caller.id) {
      // Same API: the caller's body as sent, with the member's model name.
      body = parsed;
      retargetSameFormatBody(body, backend.id, model.upstreamId, route.stream);
    } else {
      body = backend.buildRequest(chat, model.upstreamId);
    }
    this.translator = new AnswerTranslator(this.caller, backend, { stream: route.stream, callerModel: route.model, includeUsage: route.includeUsage });
    const out = Buffer.from(JSON.stringify(body), 'utf8');
    return continueRequestBody({ set: [setHeader('content-length', String(out.length)), setHeader('content-type', 'application/json')], body: out });
  }

  private onResponseHeaders(req: ProcessingRequest): ProcessingResponse {
    const h = headerMapToRecord(req.response_headers?.headers);
    this.status = Number(h[':status'] ?? '0');
    const model = this.model!;
    this.ctx.metrics.upstreamAttempts.inc({ tenant: this.route!.tenant, gen_ai_provider_name: model.provider.id, gen_ai_request_model: model.id, status_code: String(this.status) });
    if (this.status === 429 || this.status >= 500) {
      const seconds = this.ctx.cooldowns.refuse(model.id, h['retry-after']);
      this.ctx.log.info({ rid: this.route!.rid, model: model.id, status: this.status, attempt: this.attempt, cooldownSeconds: seconds }, 'chain member refused; cooling it down');
    }
    const set = [
      setHeader('x-gateway-model', model.id),
      setHeader('x-gateway-provider', model.provider.id),
      setHeader('x-gateway-attempts', String(this.attempt)),
    ];
    const remove: string[] = [];
    const contentType = this.status < 400 ? this.translator?.contentType() : undefined;
    if (contentType) {
      remove.push('content-length');
      set.push(setHeader('content-type', contentType));
    }
    if (req.response_headers?.end_of_stream) return continueResponseHeaders({ set, remove }, 'STREAMED');
    this.bufferedError = this.status >= 400;
    return continueResponseHeaders({ set, remove }, this.bufferedError || !this.route!.stream ? 'BUFFERED' : 'STREAMED');
  }

  private onResponseBody(req: ProcessingRequest): ProcessingResponse {
    const body = req.response_body?.body ?? Buffer.alloc(0);
    const eos = req.response_body?.end_of_stream === true;
    if (this.bufferedError) {
      const mapped = upstreamErrorForCaller(this.caller, this.backend!, this.status, body.toString('utf8'));
      if (mapped.body === undefined) return continueResponseBody();
      const buf = Buffer.from(mapped.body, 'utf8');
      const set = [setHeader(':status', String(mapped.status)), setHeader('content-type', 'application/json'), setHeader('content-length', String(buf.length))];
      return continueResponseBody({ set, body: buf });
    }
    if (this.route!.stream) return continueResponseBody({ body: this.translator!.chunk(body, eos) });
    const { out } = this.translator!.whole(body);
    return continueResponseBody({ body: out, set: out ? [setHeader('content-length', String(out.length))] : undefined });
  }

  private fail(err: unknown): ProcessingResponse {
    const gwErr = err instanceof GatewayError ? err : new GatewayError('internal', 'The gateway failed to translate the request for its backend.', { code: 'internal_error' });
    if (!(err instanceof GatewayError)) this.ctx.log.error({ rid: this.route?.rid, err }, 'unexpected error in a chain attempt');
    const headers: Array<[string, string]> = [['content-type', 'application/json']];
    if (this.model) headers.push(['x-gateway-model', this.model.id], ['x-gateway-provider', this.model.provider.id]);
    return immediate(gwErr.status, this.caller.renderError(gwErr), headers, `llm_gateway_attempt_${gwErr.kind}`);
  }
}

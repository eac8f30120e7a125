import type { AnswerPolicy, HeadersDecision, WholeDecision } from '../answer/policy.js';
import { AnswerTranslator } from '../answer/translator.js';
import { contentTypeProblem, unreadableAnswer } from '../answer/unreadable.js';
import { errorAnswer, upstreamErrorForCaller } from '../answer/upstream-error.js';
import type { Model } from '../catalog/load.js';
import { ATTEMPT_COUNT_HEADER, BACKEND_METADATA_KEY, HOST_METADATA_ATTRIBUTE, METADATA_NAMESPACE, RESPONSE_HEADER, ROUTE_CONTEXT_KEY } from '../contract.js';
import { GatewayError } from '../errors.js';
import { decodeRouteContext, type RouteContext } from '../fallback/route-context.js';
import type { WireFormat } from '../providers/canonical/format.js';
import { FORMATS } from '../providers/formats.js';
import type { BodyResult, CallHandler, HeadResult, LocalReply } from '../server/call-handler.js';
import type { ExtProcRequest, HeaderRecord } from '../server/codec/messages.js';
import { upstreamRequest } from '../upstream/request.js';
import type { UpstreamTarget } from '../upstream/resolver.js';
import { DEFAULT_CALLER } from './caller.js';
import type { GatewayContext } from './context.js';
import { errorReply, ReplyInstead } from './replies.js';

/** Our key's string value inside the endpoint metadata's text form. */
const BACKEND_VALUE = new RegExp(`key: "${BACKEND_METADATA_KEY}"\\s*value \\{\\s*string_value: "((?:[^"\\\\]|\\\\.)*)"`);

/**
 * The chain member a stream's first message names when the per-attempt (upstream) filter of a
 * chain cluster opened it; undefined for router-level streams.
 *
 * The endpoint's metadata arrives as text-format protobuf (`filter_metadata { key: "llm_gateway"
 * value { fields { key: "backend" value { string_value: "..." } } } }`); only our key is read.
 */
export function chainAttemptBackend(first: ExtProcRequest): string | undefined {
  for (const struct of Object.values(first.attributes ?? {})) {
    const text = struct[HOST_METADATA_ATTRIBUTE];
    if (typeof text !== 'string') continue;
    const m = BACKEND_VALUE.exec(text);
    if (m) return m[1]!.replace(/\\(.)/g, '$1');
  }
  return undefined;
}

interface AttemptContext {
  route: RouteContext;
  caller: WireFormat;
  model: Model;
  target: UpstreamTarget;
  attempt: number;
}

/**
 * One attempt of a chained call, seen by the per-attempt filter after Envoy picked the chain
 * member: the caller's request (Envoy re-sends the original on each attempt) is rewritten for
 * that member, and its answer translated back to the caller's API. Everything it needs comes
 * with the attempt (the endpoint's metadata and the route context), so any replica can serve it.
 * Metering stays with the router-level processor, which sees the final answer.
 */
export class AttemptHandler implements CallHandler<AttemptContext> {
  constructor(
    private readonly gw: GatewayContext,
    /** The chain member Envoy picked for this attempt (catalog model id). */
    private readonly backendId: string,
  ) {}

  async head(headers: HeaderRecord, first: ExtProcRequest): Promise<HeadResult<AttemptContext>> {
    let route: RouteContext | undefined;
    try {
      const meta = first.metadata?.[METADATA_NAMESPACE]?.[ROUTE_CONTEXT_KEY];
      route = decodeRouteContext(typeof meta === 'string' ? meta : undefined, this.gw.routeKey);
      // The endpoint's metadata names the member; the signed context says which ones this call may use.
      if (!route.members.includes(this.backendId)) {
        throw new GatewayError('permission', `A fallback attempt at ${this.backendId} is not one this call may make.`, { code: 'route_context_invalid' });
      }
      const model = this.gw.catalog.find(this.backendId);
      if (!model)
        throw new GatewayError('unavailable', `Fallback member ${this.backendId} is not configured on this gateway.`, { code: 'provider_not_configured' });
      const attempt = Number(headers[ATTEMPT_COUNT_HEADER] ?? '1') || 1;
      const ctx = { route, caller: FORMATS[route.caller], model, target: this.gw.resolver.chatTarget(model), attempt };
      return { ctx, strip: [ATTEMPT_COUNT_HEADER] };
    } catch (err) {
      return { reply: this.attemptError(route ? FORMATS[route.caller] : DEFAULT_CALLER, err, route?.rid) };
    }
  }

  async body(ctx: AttemptContext, body: Buffer): Promise<BodyResult> {
    const { route, caller, model, target } = ctx;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      const chat = caller.parseRequest(parsed, { pathModel: route.model, stream: route.stream });
      const up = upstreamRequest({ caller, model, authority: target.authority, credential: target.credential, chat, parsed, stream: route.stream });
      return { forward: { set: up.set, remove: up.remove, body: up.body, clearRouteCache: false, answer: new AttemptAnswer(this.gw, this, ctx) } };
    } catch (err) {
      return { reply: this.memberError(ctx, err) };
    }
  }

  failure(err: unknown, ctx?: AttemptContext): LocalReply {
    if (err instanceof ReplyInstead) return err.reply;
    return this.attemptError(ctx?.caller ?? DEFAULT_CALLER, err, ctx?.route.rid);
  }

  /** An error of the member's, as the attempt answers it: in the caller's API, the member named. */
  memberError(ctx: AttemptContext, err: unknown): LocalReply {
    const reply = this.attemptError(ctx.caller, err, ctx.route.rid);
    reply.headers.push([RESPONSE_HEADER.model, ctx.model.id], [RESPONSE_HEADER.provider, ctx.model.provider.id]);
    return reply;
  }

  private attemptError(caller: WireFormat, err: unknown, rid: string | undefined): LocalReply {
    const reply = errorReply(this.gw, caller, err, { rid });
    return { ...reply, details: reply.details.replace('llm_gateway_', 'llm_gateway_attempt_'), metadata: undefined };
  }
}

/**
 * An attempt's answer: cooldowns on refusals, the member named, the body in the caller's API (a
 * 200 that is not an answer, a 502 there).
 */
class AttemptAnswer implements AnswerPolicy {
  private status = 0;
  /** Why a 200 is not an answer, known from its headers. */
  private broken: string | undefined;
  private readonly translator: AnswerTranslator;

  constructor(
    private readonly gw: GatewayContext,
    private readonly handler: AttemptHandler,
    private readonly ctx: AttemptContext,
  ) {
    const { route } = ctx;
    this.translator = new AnswerTranslator(ctx.caller, FORMATS[ctx.model.provider.format], {
      stream: route.stream,
      callerModel: route.model,
      includeUsage: route.includeUsage,
    });
  }

  headers(status: number, headers: HeaderRecord, endOfStream: boolean): HeadersDecision {
    const { model, route, attempt } = this.ctx;
    this.status = status;
    this.gw.metrics.upstreamAttempts.inc({
      tenant: route.tenant,
      gen_ai_provider_name: model.provider.id,
      gen_ai_request_model: model.id,
      status_code: String(status),
    });
    if (status === 429 || status >= 500) {
      const seconds = this.gw.cooldowns.refuse(model.id, headers['retry-after']);
      this.gw.log.info({ rid: route.rid, model: model.id, status, attempt, cooldownSeconds: seconds }, 'chain member refused; cooling it down');
    }
    const set: Array<readonly [string, string]> = [
      [RESPONSE_HEADER.model, model.id],
      [RESPONSE_HEADER.provider, model.provider.id],
      [RESPONSE_HEADER.attempts, String(attempt)],
    ];
    const remove: string[] = [];
    this.broken = status === 200 ? contentTypeProblem(FORMATS[model.provider.format], route.stream, headers['content-type']) : undefined;
    if (this.broken) return { set, remove, whole: !endOfStream };
    const contentType = status < 400 ? this.translator.contentType() : undefined;
    if (contentType) {
      remove.push('content-length');
      set.push(['content-type', contentType]);
    }
    return { set, remove, whole: !endOfStream && (status >= 400 || !route.stream) };
  }

  chunk(body: Buffer, endOfStream: boolean): Buffer | undefined {
    return this.translator.chunk(body, endOfStream);
  }

  whole(body: Buffer): WholeDecision {
    const { caller, model } = this.ctx;
    if (this.status >= 400) {
      return errorAnswer(upstreamErrorForCaller(caller, FORMATS[model.provider.format], this.status, body.toString('utf8')), this.status);
    }
    let out: Buffer | undefined;
    try {
      if (this.broken) throw unreadableAnswer(this.broken);
      out = this.translator.whole(body);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.opts.code !== 'upstream_invalid_response') throw err;
      this.gw.log.warn({ rid: this.ctx.route.rid, model: model.id, upstream: err.message }, 'chain member answer unreadable');
      // Answered by the attempt itself (an immediate response), not as the member's 5xx: a
      // broken 200 ends the call with the caller's 502 rather than moving the chain on.
      throw new ReplyInstead(this.handler.memberError(this.ctx, err));
    }
    return { set: out ? [['content-length', String(out.length)]] : [], body: out };
  }

  metadata(): undefined {
    return undefined;
  }

  abort(): void {}
}

import { randomUUID } from 'node:crypto';
import type { ProcessingRequest, ProcessingResponse } from '../../../protos/ext-proc.js';
import type { AuthResult, Authenticator } from '../auth/authenticate.js';
import { extractKey } from '../auth/keys.js';
import type { IdentityAuthenticator } from '../auth/identity.js';
import type { PrincipalWithPolicy } from '../auth/redis-keys.js';
import type { TenantPolicy } from '../tenants/policy.js';
import type { CredentialLookup, TenantCredentials } from '../auth/tenant-credentials.js';
import { limitSubjects, quotaHeaders, worstCase } from '../limits/admission.js';
import { LimiterUnavailable, type Limiter, type Reservation } from '../limits/index.js';
import { ChatStreamAssembler, isCacheableCompletion } from '../cache/assemble.js';
import { cacheKey } from '../cache/key.js';
import { replayJson, replaySse } from '../cache/replay.js';
import { cacheDirective, type CacheDirective, type ResponseCache } from '../cache/response-cache.js';
import type { ChatCompletion } from '../cache/types.js';
import type { Model } from '../catalog/load.js';
import type { Catalog } from '../catalog/load.js';
import { GatewayError, kindForStatus } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { costUsd, formatUsd } from '../metering/cost.js';
import type { GatewayMetrics } from '../metering/metrics.js';
import type { Usage } from '../metering/usage.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { CanonicalRequest, FormatId } from '../providers/canonical/types.js';
import { FORMATS } from '../providers/formats.js';
import { AnswerTranslator, upstreamErrorForCaller } from './answer-translator.js';
import { dispatchPhase } from './phases.js';
import { CALLER_ENVOY_HEADERS, CALLER_ONLY_HEADERS, CREDENTIAL_HEADERS, retargetSameFormatBody } from './request-headers.js';
import { chainClusterName, chainOf, maskOf, ROUTE_CONTEXT_KEY, type Chain } from '../route/chains.js';
import type { Cooldowns } from '../route/cooldown.js';
import { encodeRouteContext } from '../route/route-context.js';
import { conversationKey } from '../route/affinity.js';
import type { Variant } from '../route/canary.js';
import { AUTO_MODEL } from '../route/router.js';
import { DESTINATION_HEADER, LOCAL_ONLY_HEADER, type RoutingContext } from '../route/routing-context.js';
import { classifyRequestOf } from '../classify/from-canonical.js';
import { modelObject } from '../providers/openai/models.js';
import { OpenAIStreamTap } from '../providers/openai/stream.js';
import { fromOpenAIUsage } from '../providers/openai/usage.js';
import { extractUsageObject } from '../providers/openai/usage-slice.js';
import { detectEndpoint, splitPath, type Endpoint } from '../route/endpoints.js';
import type { UpstreamResolver, UpstreamTarget } from '../route/upstream.js';
import { headerMapToRecord, setHeader } from '../util/headers.js';
import { toStruct, type Plain } from '../util/struct.js';
import {
  continueRequestBody,
  continueRequestHeaders,
  continueResponseBody,
  continueResponseHeaders,
  immediate,
} from './responses.js';

/** What every exchange shares: built once at start, read-only afterwards. */
export interface GatewayContext {
  auth: Authenticator;
  /** Per-tenant policy from TENANTS_PATH (limits, model allow-list, cache); absent tenant = defaults. */
  tenants: ReadonlyMap<string, TenantPolicy>;
  /** Models of the providers configured here. */
  catalog: Catalog;
  /** Every model, configured or not: fallback-chain positions (and Envoy's chain clusters) follow it. */
  fullCatalog: Catalog;
  /** Backends that recently refused work; chains start past them. */
  cooldowns: Cooldowns;
  /** Envoy has the chain clusters and the per-attempt filter (FALLBACK_CHAINS). */
  fallbackChains: boolean;
  routing: RoutingContext;
  resolver: UpstreamResolver;
  /** Each API's model-list body, serialised once. */
  modelsListBodies: Readonly<Record<FormatId, Buffer>>;
  metrics: GatewayMetrics;
  log: Logger;
  maxRequestBytes: number;
  /** Absent when the response cache is turned off. */
  cache?: ResponseCache;
  limiter: Limiter;
  /** Tenants' own provider credentials (when GATEWAY_MASTER_KEY and REDIS_URL are set). */
  tenantCredentials?: TenantCredentials;
  /** Transparent mode: tenants authenticated by the mesh identity header (IDENTITY_HEADER). */
  identity?: IdentityAuthenticator;
  /** Let calls through when the limiter's store is down (default: refuse with 503). */
  limitsFailOpen: boolean;
}

/** Envoy dynamic metadata namespace; the access log reads `%DYNAMIC_METADATA(llm_gateway:...)%`. */
export const METADATA_NAMESPACE = 'llm_gateway';

/** Response headers of the upstream that describe the platform's account, not the caller's. */
const HIDDEN_UPSTREAM_HEADERS = /^(x-ratelimit-|openai-organization$|openai-project$|set-cookie$)/;

const OPERATION = 'chat';

/**
 * One HTTP exchange as Envoy streams it to the processor: request headers, request body,
 * response headers, response body chunks. Each message gets exactly one answer.
 */
export class Exchange {
  private readonly start = process.hrtime.bigint();
  private rid = '';
  private principal: PrincipalWithPolicy | undefined;
  private policy: TenantPolicy | undefined;
  private endpoint: Endpoint | undefined;
  /** The API the caller speaks; errors and answers go back in it. */
  private caller: WireFormat = FORMATS.openai;
  /** The API the chosen backend speaks. */
  private backend: WireFormat | undefined;
  /** Caller and backend speak different APIs: bodies and streams are translated both ways. */
  private translating = false;
  /** The model name the caller used, shown back to it in translated answers. */
  private callerModel = '';
  private target: UpstreamTarget | undefined;
  private stream = false;
  private tap: OpenAIStreamTap | undefined;
  /** Reads every answer but OpenAI-to-OpenAI ones (the tap's): usage always, translation when needed. */
  private translator: AnswerTranslator | undefined;
  /** The call goes down a fallback chain; an upstream-level processor translates each attempt. */
  private chain: { head: Model; mask: number; size: number } | undefined;
  /** The caller asked (x-gateway-local-only) that the request stay on local backends. */
  private localOnlyAsked = false;
  /** The router's explanation, for the x-gateway-tier/-domain/-route-reason headers. */
  private decision: { tier?: string; domain?: string; reason: string; baseline?: Model } | undefined;
  private canary: { name: string; variant: Variant } | undefined;
  /** The conversation's key (route/affinity.ts), computed once for routing and pool picking. */
  private conversation: string | undefined | null = null;
  /** Ends the pool's in-flight count for the endpoint this call went to. */
  private poolDone: ((outcome: { status: number; busy?: boolean }) => void) | undefined;
  private status = 0;
  private firstChunkSeen = false;
  private finished = false;
  private bufferedErrorBody = false;
  private cacheDirective: CacheDirective = 'use';
  private cacheStatus: 'hit' | 'miss' | 'bypass' = 'bypass';
  /** Set when the answer should be stored under this key once it is complete. */
  private cacheKey: string | undefined;
  private assembler: ChatStreamAssembler | undefined;
  private reservation: Reservation | undefined;
  private quota: Array<[string, string]> = [];
  /** Started with the body phase so it overlaps the cache lookup and the limit check. */
  private credential: Promise<CredentialLookup> | undefined;

  constructor(private readonly ctx: GatewayContext) {}

  /** Answers one message; any failure, synchronous or in a pending lookup, becomes the caller's error. */
  handle(req: ProcessingRequest): ProcessingResponse | Promise<ProcessingResponse> {
    try {
      const out = this.dispatch(req);
      return out instanceof Promise ? out.catch((err: unknown) => this.fail(err)) : out;
    } catch (err) {
      return this.fail(err);
    }
  }

  private dispatch(req: ProcessingRequest): ProcessingResponse | Promise<ProcessingResponse> {
    return dispatchPhase<ProcessingResponse | Promise<ProcessingResponse>>(req, {
      requestHeaders: (r) => this.onRequestHeaders(r),
      requestBody: (r) => this.onRequestBody(r),
      responseHeaders: (r) => this.onResponseHeaders(r),
      responseBody: (r) => this.onResponseBody(r),
    });
  }

  /** Envoy closed the stream. A response that never reached its end still gets metered. */
  close(): void {
    if (this.finished || !this.target) return;
    const labels = this.modelLabels();
    this.ctx.metrics.streamsAborted.inc(labels);
    this.ctx.log.warn({ rid: this.rid, tenant: this.principal?.tenant, model: labels.gen_ai_request_model }, 'exchange ended before the response completed');
    this.finish(this.tap?.usage ?? this.translator?.usage, true);
  }

  // ---- request ----------------------------------------------------------------------------

  private onRequestHeaders(req: ProcessingRequest): ProcessingResponse | Promise<ProcessingResponse> {
    const h = headerMapToRecord(req.request_headers?.headers);
    this.rid = h['x-request-id'] || randomUUID();
    const { path, query } = splitPath(h[':path'] ?? '/');
    this.endpoint = detectEndpoint(h[':method'] ?? 'GET', path, h['anthropic-version'] !== undefined);
    if (!this.endpoint) throw new GatewayError('not_found', `Unknown endpoint ${h[':method']} ${path}.`, { code: 'unknown_url' });
    this.caller = FORMATS[this.endpoint.api];
    if (this.endpoint.op === 'chat' && this.endpoint.stream && query?.get('alt') !== 'sse') {
      // Without alt=sse Gemini streams one growing JSON array; every Gemini SDK asks for SSE.
      throw new GatewayError('invalid_request', 'streamGenerateContent is served as server-sent events only: add ?alt=sse to the URL.', { param: 'alt' });
    }

    const key = extractKey(h, query);
    if (!key) {
      const byIdentity = this.ctx.identity?.authenticate(h);
      if (byIdentity) return this.afterAuth(byIdentity, h, req);
      throw new GatewayError(
        'authentication',
        "You didn't provide an API key. Send your gateway key in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY).",
      );
    }
    const auth = this.ctx.auth.authenticate(key);
    return auth instanceof Promise ? auth.then((a) => this.afterAuth(a, h, req)) : this.afterAuth(auth, h, req);
  }

  private afterAuth(auth: AuthResult, h: Record<string, string>, req: ProcessingRequest): ProcessingResponse {
    if (auth === 'unavailable') {
      throw new GatewayError('unavailable', 'The gateway cannot check API keys right now. Retry shortly.', { code: 'auth_unavailable', retryAfterSeconds: 1 });
    }
    // Transparent mode: a service's SDK may send a placeholder key; the mesh identity vouches for it.
    auth ??= this.ctx.identity?.authenticate(h);
    if (!auth) throw new GatewayError('authentication', 'Incorrect API key provided.', { code: 'invalid_api_key' });
    this.principal = auth;
    this.policy = this.ctx.tenants.get(auth.tenant);
    return this.routeRequestHeaders(h, req);
  }

  private routeRequestHeaders(h: Record<string, string>, req: ProcessingRequest): ProcessingResponse {
    const endpoint = this.endpoint!;
    switch (endpoint.op) {
      case 'models':
        return this.reply(200, this.ctx.modelsListBodies[endpoint.api], 'models_list');
      case 'model': {
        const m = this.ctx.resolver.model(endpoint.model);
        return this.reply(200, JSON.stringify(modelObject(m)), 'model_get');
      }
      case 'chat':
        break;
    }

    this.cacheDirective = cacheDirective(h['cache-control']);
    const length = Number(h['content-length'] ?? '0');
    if (length > this.ctx.maxRequestBytes) throw this.tooLarge(length);
    if (req.request_headers?.end_of_stream) throw new GatewayError('invalid_request', 'The request body is empty: expected a JSON object.');

    // Callers must never choose internal routing headers, and their gateway key stops here.
    const remove = [...CREDENTIAL_HEADERS, ...CALLER_ENVOY_HEADERS];
    for (const name of Object.keys(h)) if (name.startsWith('x-gateway-')) remove.push(name);
    this.localOnlyAsked = /^(1|true|yes)$/i.test(h[LOCAL_ONLY_HEADER] ?? '');
    // The mesh identity is for the gateway, not for a provider outside the mesh.
    if (this.ctx.identity) remove.push(this.ctx.identity.header);
    return continueRequestHeaders({ remove });
  }

  private onRequestBody(req: ProcessingRequest): ProcessingResponse | Promise<ProcessingResponse> {
    const raw = req.request_body?.body ?? Buffer.alloc(0);
    if (raw.length > this.ctx.maxRequestBytes) throw this.tooLarge(raw.length);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new GatewayError(
        'invalid_request',
        'We could not parse the JSON body of your request. The body must be a valid JSON object (Content-Type: application/json).',
        { code: 'invalid_json' },
      );
    }
    const endpoint = this.endpoint as Extract<Endpoint, { op: 'chat' }>;
    const chat = this.caller.parseRequest(parsed, { pathModel: endpoint.model, stream: endpoint.stream });
    this.callerModel = chat.model;
    let model = this.chooseModel(chat);
    const chain = this.ctx.fallbackChains ? chainOf(this.ctx.fullCatalog, model) : undefined;
    if (chain) {
      const members = this.planChain(chain, chat);
      if (members.length === 1) model = members[0]!; // one usable member: a plain call to it
      else if (members.length > 1) return this.admitAndForward(raw.length, parsed, chat, model);
    }
    this.target = this.ctx.resolver.chatTarget(model);
    this.backend = FORMATS[model.provider.format];
    this.translating = this.backend.id !== this.caller.id;
    if (this.translating && chat.sameFormatOnly.length > 0) {
      const field = chat.sameFormatOnly[0]!;
      throw new GatewayError(
        'invalid_request',
        `'${field}' cannot be translated for model \`${model.id}\`, which is served by a ${this.backend.id}-format backend. Remove it, or choose a ${this.caller.id}-format model.`,
        { param: field, code: 'unsupported_parameter' },
      );
    }
    this.stream = chat.stream;
    this.credential = this.ctx.tenantCredentials?.lookup(this.principal!.tenant, model.provider.id);

    // The cache keeps OpenAI completions: it serves OpenAI callers of OpenAI-format backends.
    const cache = this.ctx.cache;
    const cacheable = this.caller.id === 'openai' && !this.translating;
    if (cacheable && cache && this.cacheDirective !== 'off' && this.policy?.cache?.enabled !== false && cache.usable()) {
      this.cacheKey = cacheKey({ tenant: this.principal!.tenant, model: model.id, request: parsed });
      if (this.cacheDirective === 'use') {
        return cache.lookup(this.cacheKey).then((hit) => {
          if (hit) return this.answerFromCache(hit, chat, model);
          this.cacheStatus = 'miss';
          this.ctx.metrics.cacheLookups.inc({ tenant: this.principal!.tenant, gen_ai_request_model: model.id, result: 'miss' });
          return this.admitAndForward(raw.length, parsed, chat, model);
        });
      }
    }
    return this.admitAndForward(raw.length, parsed, chat, model);
  }

  /**
   * The model this call goes to: the one named, unless the tenant's routing policy lets the
   * router choose (`model: "auto"`, a policy that reroutes explicit models, or a local-only
   * demand), then a canary may take it. Classification (~0.05 ms) runs only when routing needs it.
   */
  private chooseModel(chat: CanonicalRequest): Model {
    const routing = this.ctx.routing;
    const policy = routing.config.policies.get(this.policy?.routingPolicy ?? 'default')!;
    const localOnly = policy.localOnly || this.policy?.localOnly === true || this.localOnlyAsked;
    const auto = chat.model === AUTO_MODEL;
    const requested = auto ? undefined : this.ctx.resolver.model(chat.model);
    let model: Model;
    if (auto || policy.rerouteExplicit || localOnly) {
      const c = routing.classifier.classify(classifyRequestOf(chat));
      const d = routing.router.route({
        requested: chat.model,
        requestedModel: requested,
        policy,
        classification: c,
        maxOutputTokens: chat.maxTokens,
        localOnly,
        usable: (m) => this.servable(m) && !this.ctx.cooldowns.cooling(m.id),
        affinityKey: this.conversationOf(chat),
      });
      model = d.model;
      const baseline = policy.premiumBaseline ? this.ctx.fullCatalog.find(policy.premiumBaseline) : undefined;
      this.decision = { tier: c.tier, domain: c.domain, reason: d.reason, baseline };
      if (model.id !== chat.model) this.ctx.metrics.reroutes.inc({ tenant: this.principal!.tenant, requested_model: chat.model, chosen_model: model.id });
    } else {
      model = requested!;
      this.decision = { reason: 'explicit' };
    }
    this.checkModelAllowed(model);
    const c = routing.canaries.route(this.principal!.tenant, model.id);
    if (c.canary) {
      this.canary = { name: c.canary, variant: c.variant };
      const canaryModel = c.variant === 'canary' ? this.ctx.catalog.find(c.model) : undefined;
      if (canaryModel && this.isAllowed(canaryModel)) {
        model = canaryModel;
        this.decision.reason += `+canary:${c.canary}`;
      } else if (c.variant === 'canary') {
        this.canary = undefined; // not servable here: leave the canary out of this call
      }
    }
    return model;
  }

  /**
   * Picks the chain members this call may use, in chain order: configured here, allowed for the
   * key and tenant, able to take the request's fields, and not cooling down (unless all are).
   * With two or more, the call is chained: the caller's body goes on unchanged and each attempt
   * is translated by the upstream-level processor for the member Envoy picked.
   */
  private planChain(chain: Chain, chat: CanonicalRequest): Model[] {
    const usable = (m: Model) => this.servable(m) && (chat.sameFormatOnly.length === 0 || m.provider.format === this.caller.id);
    let mask = maskOf(chain, (m) => usable(m) && !this.ctx.cooldowns.cooling(m.id));
    if (mask === 0) mask = maskOf(chain, usable);
    const members = chain.members.filter((_, i) => (mask & (1 << i)) !== 0);
    if (members.length > 1) {
      this.chain = { head: chain.head, mask, size: members.length };
      // Labels and pricing until the answer says which member served it.
      this.target = this.ctx.resolver.chatTarget(members[0]!);
      this.backend = this.caller;
      this.stream = chat.stream;
    }
    return members;
  }

  /**
   * Rate limits and budgets: the call's worst case is reserved atomically before it goes out
   * (across replicas when Redis backs the limiter) and reconciled with the real usage at the end.
   * Cache hits are not charged: they cost no provider tokens.
   */
  private admitAndForward(
    bodyBytes: number,
    parsed: Record<string, unknown>,
    chat: CanonicalRequest,
    model: Model,
  ): ProcessingResponse | Promise<ProcessingResponse> {
    const subjects = limitSubjects(this.principal!, this.policy);
    if (subjects.length === 0) return this.forward(parsed, chat, model);
    const tenant = this.principal!.tenant;
    const n = typeof parsed.n === 'number' ? parsed.n : 1;
    return this.ctx.limiter.admit(subjects, worstCase(bodyBytes, { max_tokens: chat.maxTokens, n }, model)).then(
      (adm) => {
        if (!adm.ok) {
          this.ctx.metrics.limitRejections.inc({ tenant, limit: adm.limit, scope: adm.scope });
          const budget = adm.limit === 'usd_per_day' || adm.limit === 'usd_per_month';
          throw new GatewayError('rate_limit', `${adm.message[0]!.toUpperCase()}${adm.message.slice(1)}.`, {
            code: budget ? 'budget_exceeded' : 'rate_limit_exceeded',
            retryAfterSeconds: adm.retryAfterSeconds,
          });
        }
        this.reservation = adm.reservation;
        this.quota = quotaHeaders(adm.remaining, adm.limits);
        return this.forward(parsed, chat, model);
      },
      (err: unknown) => {
        if (!(err instanceof LimiterUnavailable)) throw err;
        this.ctx.metrics.limitRejections.inc({ tenant, limit: 'unavailable', scope: 'none' });
        if (!this.ctx.limitsFailOpen) {
          throw new GatewayError('unavailable', 'Rate limits cannot be checked right now. Retry shortly.', { code: 'limits_unavailable', retryAfterSeconds: 1 });
        }
        this.ctx.log.warn({ rid: this.rid, tenant }, 'limiter unavailable: letting the call through (LIMITS_FAIL_OPEN)');
        return this.forward(parsed, chat, model);
      },
    );
  }

  /** Who refuses `model`: the key's and the tenant's model allow-lists both apply. */
  private refusedBy(model: Model): string | undefined {
    if (this.principal?.models && !this.principal.models.has(model.id)) return 'this API key';
    if (this.policy?.models && !this.policy.models.has(model.id)) return `tenant ${this.principal?.tenant}`;
    return undefined;
  }

  private isAllowed(model: Model): boolean {
    return this.refusedBy(model) === undefined;
  }

  /** Configured here (its provider has a credential) and allowed for this key and tenant. */
  private servable(model: Model): boolean {
    return this.ctx.catalog.find(model.id) === model && this.isAllowed(model);
  }

  private checkModelAllowed(model: Model): void {
    const who = this.refusedBy(model);
    if (who) throw new GatewayError('permission', `The model \`${model.id}\` is not allowed for ${who}.`, { param: 'model', code: 'model_not_allowed' });
  }

  private conversationOf(chat: CanonicalRequest): string | undefined {
    if (this.conversation === null) this.conversation = conversationKey(this.principal!.tenant, chat);
    return this.conversation;
  }

  /** Sends the call on to the provider chosen for `model`, with the tenant's own credential if it has one. */
  private forward(parsed: Record<string, unknown>, chat: CanonicalRequest, model: Model): ProcessingResponse | Promise<ProcessingResponse> {
    if (!this.credential) return this.forwardWith(parsed, chat, model);
    return this.credential.then((c) => {
      if (typeof c === 'object') this.target = { ...this.target!, credential: c.key };
      // Unreachable store: the platform credential is used, as for tenants without their own key.
      else if (c === 'unavailable') this.ctx.log.warn({ rid: this.rid, tenant: this.principal?.tenant }, 'tenant credential unavailable; using the platform credential');
      return this.forwardWith(parsed, chat, model);
    });
  }

  private forwardWith(parsed: Record<string, unknown>, chat: CanonicalRequest, model: Model): ProcessingResponse {
    if (this.chain) return this.forwardChained(chat);
    const target = this.target!;
    const backend = this.backend!;
    const body = this.translating ? Buffer.from(JSON.stringify(backend.buildRequest(chat, model.upstreamId)), 'utf8') : this.sameFormatBody(parsed, chat, model);
    if (this.translating || backend.id !== 'openai') {
      this.translator = new AnswerTranslator(this.caller, backend, { stream: this.stream, callerModel: this.callerModel, includeUsage: chat.includeUsage === true });
    }
    const call = backend.upstreamCall({ basePath: target.provider.basePath, upstreamModel: model.upstreamId, stream: this.stream, credential: target.credential });
    const set = [
      setHeader('x-gateway-cluster', target.cluster),
      setHeader(':path', call.path),
      setHeader(':authority', target.authority),
      ...call.headers.map(([k, v]) => setHeader(k, v)),
    ];
    if (body) set.push(setHeader('content-length', String(body.length)));
    if (this.translating) set.push(setHeader('content-type', 'application/json'));
    set.push(...this.poolHeaders(model, chat));
    this.ctx.routing.quotas.recordRequest(model.provider.id);
    // The gateway reads every answer (usage, translation): it must not arrive compressed.
    const remove = ['accept-encoding'];
    if (this.translating) for (const name of CALLER_ONLY_HEADERS) if (!call.headers.some(([k]) => k === name)) remove.push(name);
    return continueRequestBody({ set, remove, body, clearRouteCache: true });
  }

  /**
   * A pool model: the pool picks the endpoints (least loaded, adapter already loaded, the
   * conversation's endpoint) and Envoy's override-host load balancer takes them in that order,
   * the later ones on retry.
   */
  private poolHeaders(model: Model, chat: CanonicalRequest) {
    const pool = this.ctx.routing.pools.get(model.provider.id);
    if (!pool) return [];
    const pick = pool.pick({ model: model.upstreamId, affinityKey: this.conversationOf(chat) });
    if (pick.endpoints.length === 0) return [];
    this.poolDone = pool.begin(pick.endpoints[0]!);
    const retries = Math.min(pick.endpoints.length - 1, 2);
    return [
      setHeader(DESTINATION_HEADER, pick.endpoints.slice(0, retries + 1).join(',')),
      ...(retries > 0 ? [setHeader('x-envoy-retry-on', 'connect-failure,reset,retriable-status-codes'), setHeader('x-envoy-retriable-status-codes', '503'), setHeader('x-envoy-max-retries', String(retries))] : []),
    ];
  }

  /**
   * A chained call: Envoy tries the chain cluster's members in order (retrying on 429, 5xx,
   * refused connections and silent attempts) and the upstream-level processor translates each
   * attempt. The answer comes back already in the caller's API; this side only meters it.
   */
  private forwardChained(chat: CanonicalRequest): ProcessingResponse {
    const chain = this.chain!;
    const route = encodeRouteContext({
      rid: this.rid,
      caller: this.caller.id,
      model: this.callerModel,
      stream: this.stream,
      // OpenAI streams always carry usage to this side, which hides it again if the caller did not ask.
      includeUsage: this.caller.id === 'openai' ? true : chat.includeUsage === true,
      tenant: this.principal!.tenant,
    });
    if (this.caller.id === 'openai') {
      if (this.stream) this.tap = new OpenAIStreamTap(chat.includeUsage !== true);
    } else {
      this.translator = new AnswerTranslator(this.caller, this.caller, { stream: this.stream, callerModel: this.callerModel, includeUsage: chat.includeUsage === true });
    }
    const set = [setHeader('x-gateway-cluster', chainClusterName(chain.head, chain.mask)), setHeader('x-envoy-max-retries', String(chain.size - 1))];
    // Dynamic metadata, not a header: Envoy re-sends one header map to every attempt, so a header
    // removed before the first provider would be gone for the next attempt's processor.
    const meta = toStruct({ [METADATA_NAMESPACE]: { [ROUTE_CONTEXT_KEY]: route } });
    return { ...continueRequestBody({ set, remove: ['accept-encoding'], clearRouteCache: true }), dynamic_metadata: meta };
  }

  /**
   * The caller's own body for a backend of its own API. Re-serialised only when something must
   * change: most requests pass through byte for byte.
   */
  private sameFormatBody(parsed: Record<string, unknown>, chat: CanonicalRequest, model: Model): Buffer | undefined {
    if (this.caller.id === 'openai' && this.stream) {
      // The cache needs every chunk to rebuild the answer; without it only usage is read. The
      // usage chunk the gateway asks for is hidden again when the caller did not ask for it.
      if (this.cacheKey) this.assembler = new ChatStreamAssembler();
      this.tap = new OpenAIStreamTap(chat.includeUsage !== true, this.assembler);
    }
    return retargetSameFormatBody(parsed, this.caller.id, model.upstreamId, this.stream) ? Buffer.from(JSON.stringify(parsed), 'utf8') : undefined;
  }

  /** A cached answer, replayed in the shape the caller asked for (JSON or SSE): no provider call. */
  private answerFromCache(hit: ChatCompletion, chat: CanonicalRequest, model: Model): ProcessingResponse {
    this.cacheStatus = 'hit';
    this.finished = true;
    const tenant = this.principal!.tenant;
    const replay = { id: `chatcmpl-${randomUUID().replace(/-/g, '')}`, created: Math.floor(Date.now() / 1000) };
    const body = this.stream ? replaySse(hit, { ...replay, includeUsage: chat.includeUsage === true }) : replayJson(hit, replay);
    const usage = fromOpenAIUsage(hit.usage);
    const saved = usage ? costUsd(usage, model.pricing) : 0;
    this.ctx.metrics.cacheLookups.inc({ tenant, gen_ai_request_model: model.id, result: 'hit' });
    this.ctx.metrics.cacheSavedUsd.inc({ tenant, gen_ai_request_model: model.id }, saved);
    const headers: Array<[string, string]> = [
      ['content-type', this.stream ? 'text/event-stream' : 'application/json'],
      ['x-gateway-request-id', this.rid],
      ['x-gateway-cache', 'hit'],
      ['x-gateway-model', model.id],
      ['x-gateway-provider', model.provider.id],
      ['x-gateway-cost-usd', '0'],
    ];
    const meta = this.metadata(usage, 0, { cache: 'hit', saved_usd: saved });
    return immediate(200, body, headers, 'llm_gateway_cache_hit', meta);
  }

  /** Stores a complete, cacheable answer without holding up the response. */
  private store(completion: unknown, json: Buffer | undefined): void {
    const cache = this.ctx.cache;
    if (!cache || !this.cacheKey || this.status !== 200 || !isCacheableCompletion(completion)) return;
    const bytes = json ?? Buffer.from(JSON.stringify(completion), 'utf8');
    const labels = { tenant: this.principal!.tenant, gen_ai_request_model: this.target!.model.id };
    // The tenant's TTL wins over the model's, which wins over the gateway default.
    cache.save(this.cacheKey, bytes, this.policy?.cache?.ttlSeconds ?? this.target!.model.cacheTtlSeconds).then(
      (ok) => this.ctx.metrics.cacheWrites.inc({ ...labels, result: ok ? 'stored' : 'skipped' }),
      () => this.ctx.metrics.cacheWrites.inc({ ...labels, result: 'failed' }),
    );
  }

  // ---- response ---------------------------------------------------------------------------

  private onResponseHeaders(req: ProcessingRequest): ProcessingResponse {
    const h = headerMapToRecord(req.response_headers?.headers);
    this.status = Number(h[':status'] ?? '0');
    if (this.chain) {
      // The upstream-level processor names the member that answered; meter it, not the head.
      const served = h['x-gateway-model'] ? this.ctx.catalog.find(h['x-gateway-model']) : undefined;
      if (served) this.target = this.ctx.resolver.chatTarget(served);
    }
    const set = this.gatewayHeaders();
    const ours = new Set(this.quota.map(([k]) => k));
    const remove = Object.keys(h).filter((k) => HIDDEN_UPSTREAM_HEADERS.test(k) && !ours.has(k));
    if (req.response_headers?.end_of_stream) {
      // No body will follow (e.g. a bodiless upstream error): meter now.
      this.finish(undefined, false);
      return continueResponseHeaders({ set, remove }, 'STREAMED');
    }
    // Errors and non-stream answers are small and needed whole (usage, cost header, error mapping);
    // successful streams flow chunk by chunk.
    const buffer = this.status >= 400 || !this.stream;
    this.bufferedErrorBody = this.status >= 400;
    const contentType = this.status < 400 ? this.translator?.contentType() : undefined;
    if (contentType) {
      // The body is rewritten into the caller's API: its length changes and so may its type.
      remove.push('content-length');
      set.push(setHeader('content-type', contentType));
    }
    return continueResponseHeaders({ set, remove }, buffer ? 'BUFFERED' : 'STREAMED');
  }

  private onResponseBody(req: ProcessingRequest): ProcessingResponse {
    const body = req.response_body?.body ?? Buffer.alloc(0);
    const eos = req.response_body?.end_of_stream === true;
    if (this.bufferedErrorBody) return this.onUpstreamError(body);
    if (!this.stream) return this.onWholeAnswer(body);
    if (!this.firstChunkSeen && body.length > 0) {
      this.firstChunkSeen = true;
      this.ctx.metrics.timeToFirstToken.observe({ ...this.modelLabels(), gen_ai_operation_name: OPERATION }, this.elapsedSeconds());
    }
    const replacement = this.translator ? this.translator.chunk(body, eos) : this.tap?.push(body, eos);
    if (!eos) return continueResponseBody({ body: replacement });
    const usage = this.tap?.usage ?? this.translator?.usage;
    const usd = this.finish(usage, false);
    if (this.assembler) this.store(this.assembler.result(), undefined);
    return continueResponseBody({ body: replacement }, this.metadata(usage, usd));
  }

  /** A non-stream answer: usage and cost from it, the cache fed, and translated for the caller if needed. */
  private onWholeAnswer(body: Buffer): ProcessingResponse {
    if (!this.translator) {
      const usage = this.cacheKey ? this.readAndStore(body) : this.readJsonUsage(body);
      const usd = this.finish(usage, false);
      const set = usd === undefined ? undefined : [setHeader('x-gateway-cost-usd', formatUsd(usd))];
      return continueResponseBody({ set }, this.metadata(usage, usd));
    }
    let result;
    try {
      result = this.translator.whole(body);
    } catch (err) {
      this.finish(undefined, false);
      throw err;
    }
    if (!result.readable) this.ctx.log.warn({ rid: this.rid, status: this.status, provider: this.target?.provider.id }, 'upstream answer is not a valid response; usage unknown');
    const usage = this.translator.usage;
    const usd = this.finish(usage, false);
    const set = usd === undefined ? [] : [setHeader('x-gateway-cost-usd', formatUsd(usd))];
    if (result.out) set.push(setHeader('content-length', String(result.out.length)));
    return continueResponseBody({ set, body: result.out }, this.metadata(usage, usd));
  }

  private onUpstreamError(body: Buffer): ProcessingResponse {
    const text = body.toString('utf8');
    this.finish(undefined, false);
    const mapped = upstreamErrorForCaller(this.caller, this.backend ?? this.caller, this.status, text);
    this.ctx.log.warn({ rid: this.rid, status: this.status, provider: this.target?.provider.id, upstream: mapped.providerMessage ?? text.slice(0, 200) }, 'upstream error');
    const status = mapped.status;
    const out = mapped.body;
    if (out === undefined) return continueResponseBody();
    const buf = Buffer.from(out, 'utf8');
    const set = [setHeader(':status', String(status)), setHeader('content-type', 'application/json'), setHeader('content-length', String(buf.length))];
    return continueResponseBody({ set, body: buf }, this.metadata(undefined, undefined));
  }

  // ---- bookkeeping ------------------------------------------------------------------------

  private readJsonUsage(body: Buffer): Usage | undefined {
    try {
      return fromOpenAIUsage(extractUsageObject(body.toString('utf8')));
    } catch {
      this.ctx.log.warn({ rid: this.rid, status: this.status }, 'upstream response body is not JSON; usage unknown');
      return undefined;
    }
  }

  /** Parses the whole answer (the cache needs it anyway), stores it, and returns its usage. */
  private readAndStore(body: Buffer): Usage | undefined {
    let completion: { usage?: unknown };
    try {
      completion = JSON.parse(body.toString('utf8')) as { usage?: unknown };
    } catch {
      this.ctx.log.warn({ rid: this.rid, status: this.status }, 'upstream response body is not JSON; usage unknown');
      return undefined;
    }
    this.store(completion, body);
    return fromOpenAIUsage(completion.usage);
  }

  /** Records the call once; returns its cost when the usage is known. */
  private finish(usage: Usage | undefined, aborted: boolean): number | undefined {
    if (this.finished || !this.target) return undefined;
    this.finished = true;
    const m = this.ctx.metrics;
    const labels = this.modelLabels();
    const seconds = this.elapsedSeconds();
    const errorType = aborted ? 'aborted' : this.status >= 400 ? String(this.status) : '';
    m.requestDuration.observe({ ...labels, gen_ai_operation_name: OPERATION, error_type: errorType }, seconds);
    m.requests.inc({ ...labels, status_code: aborted ? 'aborted' : String(this.status) });
    let usd: number | undefined;
    if (usage) usd = costUsd(usage, this.target.model.pricing);
    if (this.reservation) {
      // Without reported usage (an error, a cut stream) nothing is known to be billed: release it.
      const actual = { tokens: usage ? usage.inputTokens + usage.outputTokens : 0, usd: usd ?? 0 };
      this.ctx.limiter.reconcile(this.reservation, actual).catch((err: unknown) => {
        this.ctx.log.warn({ rid: this.rid, err: err instanceof Error ? err.message : String(err) }, 'limit reconcile failed');
      });
    }
    this.routingOutcome(usage, usd, seconds, aborted);
    if (usage && usd !== undefined) {
      m.tokenUsage.observe({ ...labels, gen_ai_token_type: 'input', gen_ai_operation_name: OPERATION }, usage.inputTokens);
      m.tokenUsage.observe({ ...labels, gen_ai_token_type: 'output', gen_ai_operation_name: OPERATION }, usage.outputTokens);
      m.costUsd.inc(labels, usd);
    }
    // Debug level: Envoy's access log already carries one line per call with the same record.
    this.ctx.log.debug(
      {
        rid: this.rid,
        tenant: this.principal?.tenant,
        model: this.target.model.id,
        provider: this.target.provider.id,
        status: this.status,
        stream: this.stream,
        inputTokens: usage?.inputTokens,
        outputTokens: usage?.outputTokens,
        costUsd: usd,
        ms: Math.round(seconds * 1e4) / 10,
        aborted: aborted || undefined,
      },
      'llm call',
    );
    return usd;
  }

  /** What routing learns from a finished call: latency, provider quota, canary health, pool load, savings. */
  private routingOutcome(usage: Usage | undefined, usd: number | undefined, seconds: number, aborted: boolean): void {
    const routing = this.ctx.routing;
    const model = this.target!.model;
    const ok = !aborted && this.status > 0 && this.status < 400;
    if (ok) routing.latency.observe(model.id, seconds);
    if (usage) routing.quotas.recordTokens(model.provider.id, usage.inputTokens + usage.outputTokens);
    if (this.canary) routing.canaries.record(this.canary.name, this.canary.variant, seconds * 1000, ok);
    this.poolDone?.({ status: this.status, busy: this.status === 503 });
    this.poolDone = undefined;
    const baseline = this.decision?.baseline;
    if (usage && usd !== undefined && baseline && baseline !== model) {
      this.ctx.metrics.routingSavedUsd.inc({ tenant: this.principal?.tenant ?? 'unknown' }, Math.max(0, costUsd(usage, baseline.pricing) - usd));
    }
  }

  private metadata(usage: Usage | undefined, usd: number | undefined, extra: Record<string, Plain> = {}) {
    const fields: Record<string, Plain> = {
      ...extra,
      cache: extra.cache ?? this.cacheStatus,
      request_id: this.rid,
      tenant: this.principal?.tenant,
      key_id: this.principal?.keyId,
      model: this.target?.model.id,
      provider: this.target?.provider.id,
      stream: this.stream,
      input_tokens: usage?.inputTokens,
      output_tokens: usage?.outputTokens,
      cached_input_tokens: usage?.cachedInputTokens,
      cost_usd: usd,
    };
    return toStruct({ [METADATA_NAMESPACE]: fields });
  }

  private modelLabels() {
    return {
      tenant: this.principal?.tenant ?? 'unknown',
      gen_ai_provider_name: this.target?.provider.id ?? 'none',
      gen_ai_request_model: this.target?.model.id ?? 'none',
    };
  }

  private gatewayHeaders() {
    const set = [setHeader('x-gateway-request-id', this.rid), setHeader('x-gateway-cache', this.cacheStatus)];
    if (this.target) set.push(setHeader('x-gateway-model', this.target.model.id), setHeader('x-gateway-provider', this.target.provider.id));
    // A chained call's attempt count comes from the attempt that answered.
    if (!this.chain) set.push(setHeader('x-gateway-attempts', '1'));
    set.push(...this.decisionHeaders().map(([k, v]) => setHeader(k, v)));
    for (const [k, v] of this.quota) set.push(setHeader(k, v));
    return set;
  }

  private decisionHeaders(): Array<[string, string]> {
    const d = this.decision;
    if (!d) return [];
    const out: Array<[string, string]> = [['x-gateway-route-reason', d.reason]];
    if (d.tier) out.push(['x-gateway-tier', d.tier]);
    if (d.domain) out.push(['x-gateway-domain', d.domain]);
    return out;
  }

  private elapsedSeconds(): number {
    return Number(process.hrtime.bigint() - this.start) / 1e9;
  }

  private tooLarge(bytes: number): GatewayError {
    return new GatewayError('too_large', `Request body of ${bytes} bytes exceeds the gateway limit of ${this.ctx.maxRequestBytes} bytes.`, {
      code: 'request_too_large',
    });
  }

  private reply(status: number, body: string | Buffer, details: string): ProcessingResponse {
    const headers: Array<[string, string]> = [
      ['content-type', 'application/json'],
      ['x-gateway-request-id', this.rid],
      ['x-gateway-cache', 'bypass'],
    ];
    return immediate(status, body, headers, details, toStruct({ [METADATA_NAMESPACE]: { request_id: this.rid, tenant: this.principal?.tenant } }));
  }

  private fail(err: unknown): ProcessingResponse {
    const gwErr =
      err instanceof GatewayError ? err : new GatewayError('internal', 'The gateway failed to process the request.', { code: 'internal_error' });
    if (!(err instanceof GatewayError)) this.ctx.log.error({ rid: this.rid, err }, 'unexpected error while processing');
    this.ctx.metrics.rejections.inc({ reason: gwErr.kind, status_code: String(gwErr.status) });
    // The exchange ends here: nothing more is metered for it.
    this.finished = true;
    const headers: Array<[string, string]> = [
      ['content-type', 'application/json'],
      ['x-gateway-request-id', this.rid || randomUUID()],
      ['x-gateway-cache', 'bypass'],
    ];
    if (this.target) headers.push(['x-gateway-model', this.target.model.id], ['x-gateway-provider', this.target.provider.id]);
    headers.push(...this.decisionHeaders());
    if (gwErr.opts.retryAfterSeconds !== undefined) headers.push(['retry-after', String(gwErr.opts.retryAfterSeconds)]);
    const meta = toStruct({ [METADATA_NAMESPACE]: { request_id: this.rid, tenant: this.principal?.tenant, error: gwErr.opts.code ?? gwErr.kind } });
    return immediate(gwErr.status, this.caller.renderError(gwErr), headers, `llm_gateway_${gwErr.kind}`, meta);
  }
}

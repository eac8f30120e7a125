import type { Variant } from '../canary/canaries.js';
import type { Model } from '../catalog/load.js';
import { decideTier, describeDecision } from '../classify/decide.js';
import { classifyRequestOf } from '../classify/from-canonical.js';
import { GatewayError } from '../errors.js';
import { chainOf, maskOf, type Chain } from '../fallback/chains.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { CanonicalRequest } from '../providers/canonical/types.js';
import { FORMATS } from '../providers/formats.js';
import { conversationKey } from '../route/affinity.js';
import { AUTO_MODEL, isLocal } from '../route/router.js';
import type { UpstreamTarget } from '../upstream/resolver.js';
import type { Caller, Identity } from './caller.js';
import type { GatewayContext } from './context.js';

/** Why this model: the x-gateway-tier / -domain / -route-reason headers, and the savings baseline. */
export interface Decision {
  tier?: string;
  domain?: string;
  reason: string;
  /** The policy's premium model, against which routing savings are counted. */
  baseline?: Model;
  /** The router's choice, when the router chose (before any canary took the call). */
  routedTo?: Model;
}

/** Where a call goes and in which API, decided from the request alone. */
export interface RoutePlan {
  /** The model as the caller named it (shown back to it in translated answers). */
  callerModel: string;
  /** The model that answers (a chained call's first usable member, until the answer names another). */
  model: Model;
  target: UpstreamTarget;
  /** The API the answer comes back in: the backend's, or the caller's own for a chained call. */
  answerFormat: WireFormat;
  /** Caller and backend speak different APIs: bodies and streams are translated both ways. */
  translating: boolean;
  /** The call goes down a fallback chain; the per-attempt processor translates each attempt. */
  chain?: { head: Model; mask: number; members: Model[] };
  decision: Decision;
  canary?: { name: string; variant: Variant };
  /** The conversation's key (route/affinity.ts), when routing or pool picking needed it. */
  conversation?: string;
}

/**
 * The model this call goes to and how to reach it: the one named, unless the tenant's routing
 * policy lets the router choose (`model: "auto"`, a policy that reroutes explicit models, or a
 * local-only demand); then a canary may take it; then its fallback chain, if it has one, narrowed
 * to the members this caller may use. Throws the caller's 4xx/503 (unknown or refused model,
 * nothing to route to, a field the backend's API cannot take). No I/O.
 */
export function planRoute(gw: GatewayContext, caller: Caller, chat: CanonicalRequest): RoutePlan {
  const routing = gw.routing;
  const policy = routing.config.policies.get(caller.policy?.routingPolicy ?? 'default')!;
  const localOnly = policy.localOnly || caller.policy?.localOnly === true || caller.localOnlyAsked;
  const auto = chat.model === AUTO_MODEL;
  const requested = auto ? undefined : gw.resolver.model(chat.model);
  let conversation: string | undefined;
  let model: Model;
  let decision: Decision;
  if (auto || policy.rerouteExplicit || localOnly) {
    conversation = conversationKey(caller.principal.tenant, chat);
    const raw = routing.classifier.classify(classifyRequestOf(chat));
    // The policy's cost–quality dial turns the calibrated probabilities into the tier routed at.
    const probs = raw.scores?.tier;
    const tierDecision = probs ? decideTier(probs, policy.tierDial) : undefined;
    const c = tierDecision ? { ...raw, tier: tierDecision.tier } : raw;
    const d = routing.router.route({
      requested: chat.model,
      requestedModel: requested,
      policy,
      classification: c,
      maxOutputTokens: chat.maxTokens,
      localOnly,
      usable: (m) => servable(gw, caller, m) && !gw.cooldowns.cooling(m.id),
      affinityKey: conversation,
    });
    model = d.model;
    decision = {
      tier: c.tier,
      domain: c.domain,
      reason: probs && tierDecision ? `${d.reason}; ${describeDecision(probs, policy.tierDial, policy.dialName, tierDecision)}` : d.reason,
      baseline: policy.premiumBaseline ? gw.fullCatalog.find(policy.premiumBaseline) : undefined,
      routedTo: d.model,
    };
  } else {
    model = requested!;
    decision = { reason: 'explicit' };
  }
  checkAllowed(caller, model);

  let canary: RoutePlan['canary'];
  const c = routing.canaries.route(caller.principal.tenant, model.id);
  if (c.canary) {
    const canaryModel = c.variant === 'canary' ? gw.catalog.find(c.model) : undefined;
    if (c.variant === 'stable') canary = { name: c.canary, variant: 'stable' };
    // A canary model not servable here, or off-premises for a local-only call, is left out of it.
    else if (canaryModel && refusedBy(caller, canaryModel) === undefined && (!localOnly || isLocal(canaryModel))) {
      model = canaryModel;
      canary = { name: c.canary, variant: 'canary' };
      decision = { ...decision, reason: `${decision.reason}+canary:${c.canary}` };
    }
  }

  const chain = gw.fallbackChains ? chainOf(gw.fullCatalog, model) : undefined;
  const members = chain ? usableMembers(gw, caller, chain, chat, localOnly) : { models: [] as Model[] };
  if (chain && 'mask' in members && members.mask !== undefined) {
    // Labels and pricing until the answer says which member served it.
    const first = members.models[0]!;
    return {
      callerModel: chat.model,
      model: first,
      target: gw.resolver.chatTarget(first),
      answerFormat: caller.caller,
      translating: false,
      chain: { head: chain.head, mask: members.mask, members: members.models },
      decision,
      canary,
      conversation,
    };
  }
  // One usable member: a plain call to it.
  if (members.models.length === 1) model = members.models[0]!;

  const backend = FORMATS[model.provider.format];
  const translating = backend.id !== caller.caller.id;
  if (translating && chat.sameFormatOnly.length > 0) {
    const field = chat.sameFormatOnly[0]!;
    throw new GatewayError(
      'invalid_request',
      `'${field}' cannot be translated for model \`${model.id}\`, which is served by a ${backend.id}-format backend. Remove it, or choose a ${caller.caller.id}-format model.`,
      { param: field, code: 'unsupported_parameter' },
    );
  }
  if (conversation === undefined && gw.routing.pools.has(model.provider.id)) conversation = conversationKey(caller.principal.tenant, chat);
  return { callerModel: chat.model, model, target: gw.resolver.chatTarget(model), answerFormat: backend, translating, decision, canary, conversation };
}

/**
 * The chain members this call may use, in chain order: configured here, allowed for the key and
 * tenant, local when the call must stay local, able to take the request's fields, and not
 * cooling down (unless all are). `mask` is set when two or more remain: the call is then chained.
 */
function usableMembers(gw: GatewayContext, caller: Caller, chain: Chain, chat: CanonicalRequest, localOnly: boolean): { models: Model[]; mask?: number } {
  const usable = (m: Model) =>
    servable(gw, caller, m) && (!localOnly || isLocal(m)) && (chat.sameFormatOnly.length === 0 || m.provider.format === caller.caller.id);
  let mask = maskOf(chain, (m) => usable(m) && !gw.cooldowns.cooling(m.id));
  if (mask === 0) mask = maskOf(chain, usable);
  const models = chain.members.filter((_, i) => (mask & (1 << i)) !== 0);
  return models.length > 1 ? { models, mask } : { models };
}

/** Who refuses `model`: the key's and the tenant's model allow-lists both apply. */
export function refusedBy(who: Identity, model: Model): string | undefined {
  if (who.principal.models && !who.principal.models.has(model.id)) return 'this API key';
  if (who.policy?.models && !who.policy.models.has(model.id)) return `tenant ${who.principal.tenant}`;
  return undefined;
}

function checkAllowed(who: Identity, model: Model): void {
  const refuser = refusedBy(who, model);
  if (refuser) throw new GatewayError('permission', `The model \`${model.id}\` is not allowed for ${refuser}.`, { param: 'model', code: 'model_not_allowed' });
}

/** Configured here (its provider has a credential) and allowed for this key and tenant. */
function servable(gw: GatewayContext, who: Identity, model: Model): boolean {
  return gw.catalog.find(model.id) === model && refusedBy(who, model) === undefined;
}

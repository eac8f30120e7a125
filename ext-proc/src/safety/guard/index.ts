export type { Channel } from './features.js';
export { GuardModelError, loadGuardModel, parseGuardModel } from './model.js';
export type { GuardModel } from './model.js';
export { defaultGuardWeightsPath, GUARD_MODES, guardParts, loadPromptGuard, PromptGuard } from './verdict.js';
export type { GuardMode, GuardPart, GuardVerdict, GuardVerdictName } from './verdict.js';

export { defaultClassify, nextUtcMidnight, statusKind, timeZoneOffsetMs } from './classify.js';
export {
  createRuntimeConnector,
  deepFreeze,
  type OpOptions,
  type RuntimeConnector,
  type RuntimeInput,
} from './runtime.js';
export { mapSettled } from './settle.js';
export { createTokenManager, type FetchedToken, type TokenManager } from './token-manager.js';

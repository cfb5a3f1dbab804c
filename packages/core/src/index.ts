export * from './contract.js';
export * from './errors.js';
export * from './http.js';
export * from './identity.js';
export * from './ledger.js';
export * from './logger.js';
export * from './sync/index.js';
export * from './types.js';

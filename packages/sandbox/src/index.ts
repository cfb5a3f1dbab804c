export * from './kit/request-log.js';
export type * from './kit/seed-types.js';
export * from './kit/server.js';
export * from './kit/store.js';
export * from './kit/types.js';
export * from './sandbox.js';
export * from './seed/checksums.js';
export {
  createSeedWorld,
  DECLARED_LEGAL_BASIS,
  DECLARED_PURPOSES,
  DEFAULT_SEED_NOW,
  type PersonTraits,
  PLANT_RATES,
  PROBLEMS,
  problemVendors,
  traitsOf,
  UNDECLARED_COPY_SYSTEMS,
  VENDOR_SHARE,
} from './seed/world.js';

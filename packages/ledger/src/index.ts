export { canonicalJson, GENESIS_HASH } from './audit.js';
export { LATEST_VERSION } from './migrations.js';
export { type OpenLedgerOptions, openLedger, schemaFor } from './open.js';

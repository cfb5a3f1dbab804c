export { Attribution } from './attribute.js';
export * from './config.js';
export * from './deadlines.js';
export * from './engine.js';
export { writeExport } from './export.js';
export { PATIENCE_MS, patiently } from './patience.js';
export * from './propagate.js';
export { seal, unseal } from './seal.js';
export { writeSubjectCopy } from './subject-copy.js';

export * from './config.js';
export * from './deadlines.js';
export * from './engine.js';
export { writeExport } from './export.js';
export * from './propagate.js';
export { seal, unseal } from './seal.js';

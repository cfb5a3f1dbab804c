export * from './engine.js';
export { refKey, toIndexEntry } from './index-entry.js';

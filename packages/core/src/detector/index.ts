export * as checksums from './checksums.js';
export {
  DETECTOR_TYPES,
  type DetectOptions,
  type DetectorType,
  detect,
  type Finding,
  LEXICON_PATTERNS,
  PATTERNS,
} from './detect.js';
export { maskEvidence, redactText } from './evidence.js';
export { LEXICONS } from './lexicons/index.js';

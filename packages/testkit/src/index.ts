export {
  CHECKS,
  type ConformanceInput,
  type Fixture,
  GROUPS,
  type Group,
  type Problem,
  runCheck,
  runConformance,
} from './conformance.js';
export { captureLogger } from './logs.js';
export { testConnector } from './test-connector.js';

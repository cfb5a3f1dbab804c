export { futureOf, movedBackwards, timestampsOf } from './checkpoints.js';
export { FAULT_SCENARIOS } from './checks/faults.js';
export {
  CHECKS,
  type ConformanceInput,
  type FaultShapes,
  type Fixture,
  type FixtureEnv,
  GROUPS,
  type Group,
  type Problem,
  runCheck,
  runConformance,
} from './conformance.js';
export {
  type Exchange,
  type FaultAction,
  type FaultProxy,
  type FaultResponse,
  type ProxiedRequest,
  startFaultProxy,
} from './fault-proxy.js';
export { captureLogger } from './logs.js';
export { testConnector } from './test-connector.js';

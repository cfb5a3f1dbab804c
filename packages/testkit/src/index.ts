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
export { createRedactor, type Recorder, type RecordOptions, recordHttp } from './recorder.js';
export {
  createStrictNock,
  createStrictNockFromFile,
  type StrictTransport,
  strictNock,
  strictNockFromFile,
} from './strict-nock.js';
export { testConnector } from './test-connector.js';

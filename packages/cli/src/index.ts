export { ConfigSchema, type CustodianConfig, type LoadedConfig, loadConfig, type SystemConfig } from './config.js';
export { BUILTIN_CONNECTORS, loadConnector } from './connectors.js';
export { type AppContext, openContext } from './context.js';
export { buildProgram, runCli } from './program.js';

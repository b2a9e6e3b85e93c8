export { startSimulator, type SimulatorHandle, type SimulatorOptions } from './server';
export type { OperationKind, OperationLogEntry } from './operation-log';
export { RUN_COMMAND_OUTPUT_LIMIT } from './run-command';

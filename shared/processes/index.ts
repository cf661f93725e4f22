/** Child processes and ports on this machine: start, wait for HTTP, find or require a free port, hand connections to a child. Used by the local runner and local serving. */
export type { HandedConnections, HandedConnectionsOptions } from './connection-handoff.js';
export { ConnectionHandoff, receiveHandedConnections } from './connection-handoff.js';
export type { ManagedProcess, StartProcessOptions } from './processes.js';
export { freePort, requireFreePort, startProcess, waitForHttp } from './processes.js';

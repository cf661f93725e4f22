/** Child processes and ports on this machine: start, wait for HTTP, find or require a free port. Used by the local runner and local serving. */
export type { ManagedProcess } from './processes.js';
export { freePort, requireFreePort, startProcess, waitForHttp } from './processes.js';

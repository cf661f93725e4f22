import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

/** The messages of the handoff, told apart from a process's other IPC messages by their `handoff` field. */
type HandoffMessage =
  | { handoff: 'connection'; id: number }
  | { handoff: 'accepted'; id: number }
  | { handoff: 'lost'; id: number }
  | { handoff: 'drain' }
  | { handoff: 'drained' };

function isHandoffMessage(message: unknown): message is HandoffMessage {
  return typeof message === 'object' && message !== null && typeof (message as { handoff?: unknown }).handoff === 'string';
}

/**
 * Hands accepted TCP connections to a child process over its IPC channel, so the child serves
 * them itself and this process costs nothing per request. The parent keeps its own copy of each
 * connection until the child says it has it: a connection in transit when the child dies is not
 * lost but given back, unread, for the caller to send elsewhere.
 */
export class ConnectionHandoff {
  private sequence = 0;
  private readonly inTransit = new Map<number, (handed: boolean) => void>();
  private readonly onDrained = new Set<() => void>();
  private exited: boolean;

  constructor(private readonly child: ChildProcess) {
    this.exited = child.exitCode !== null || child.signalCode !== null;
    child.on('message', (message) => this.receive(message));
    child.once('exit', () => {
      this.exited = true;
      for (const settle of [...this.inTransit.values()]) settle(false);
      for (const drained of [...this.onDrained]) drained();
    });
  }

  /** True while the child can be handed connections. */
  get open(): boolean {
    return !this.exited && this.child.connected;
  }

  /**
   * Hands `socket` (accepted with `pauseOnConnect`, nothing read from it) to the child. Resolves
   * true once the child has it (this process's copy is then closed), false when the child went
   * away first: the socket is then still the caller's, as it was.
   */
  handOff(socket: Socket): Promise<boolean> {
    if (!this.open) return Promise.resolve(false);
    const id = ++this.sequence;
    return new Promise((resolve) => {
      this.inTransit.set(id, (handed) => {
        this.inTransit.delete(id);
        if (handed) socket.destroy();
        resolve(handed);
      });
      // keepOpen: this process's copy stays open until the child acknowledges, so a child that dies meanwhile loses nothing.
      this.child.send({ handoff: 'connection', id } satisfies HandoffMessage, socket, { keepOpen: true }, (error) => {
        if (error) this.inTransit.get(id)?.(false);
      });
    });
  }

  /**
   * Tells the child to drain: to serve what it holds, closing each connection after its current
   * answer. Resolves true once the child reports every handed connection closed, or has exited;
   * false if `timeoutMs` passes first.
   */
  drain(timeoutMs: number): Promise<boolean> {
    if (!this.open) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (drained: boolean) => {
        clearTimeout(timer);
        this.onDrained.delete(finish);
        resolve(drained);
      };
      const finish = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.onDrained.add(finish);
      this.child.send({ handoff: 'drain' } satisfies HandoffMessage, (error) => error && finish());
    });
  }

  private receive(message: unknown): void {
    if (!isHandoffMessage(message)) return;
    if (message.handoff === 'accepted' || message.handoff === 'lost') this.inTransit.get(message.id)?.(message.handoff === 'accepted');
    else if (message.handoff === 'drained') for (const drained of [...this.onDrained]) drained();
  }
}

/** What a child does with what its parent sends. */
export interface HandedConnectionsOptions {
  /** Takes a connection handed over by the parent; it arrives unread. */
  accept(socket: Socket): void;
  /** The parent asks to drain; call `reportDrained` once every handed connection is closed. */
  drain(): void;
}

/** The child's side of a handoff, for reporting back. */
export interface HandedConnections {
  reportDrained(): void;
}

/**
 * The child's side of {@link ConnectionHandoff}: takes each connection the parent hands over and
 * acknowledges it. Undefined when this process has no IPC channel (nobody hands it connections).
 */
export function receiveHandedConnections({ accept, drain }: HandedConnectionsOptions): HandedConnections | undefined {
  const send = process.send?.bind(process);
  if (!send) return undefined;
  process.on('message', (message, handle) => {
    if (!isHandoffMessage(message)) return;
    if (message.handoff === 'connection') {
      // A message whose connection did not come with it is reported, so the parent sends that connection elsewhere.
      send({ handoff: handle ? 'accepted' : 'lost', id: message.id } satisfies HandoffMessage);
      if (handle) accept(handle as Socket);
    } else if (message.handoff === 'drain') drain();
  });
  return { reportDrained: () => void (process.connected && send({ handoff: 'drained' } satisfies HandoffMessage)) };
}

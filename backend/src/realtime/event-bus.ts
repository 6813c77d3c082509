import { EventEmitter } from 'node:events';
import type { Health } from '../store/types';

/**
 * Events the admin console watches live. Publishers never wait for listeners
 * and never fail because of one: losing a progress event costs a stale bar,
 * never data (durable facts live in the store).
 */
export type GatewayEvent =
  | {
      type: 'upload.progress';
      fileId: string;
      ownerId: string;
      accountId: string | null;
      size: number;
      committed: number;
      received: number;
      at: string;
    }
  | { type: 'upload.completed'; fileId: string; ownerId: string; accountId: string | null; size: number; at: string }
  | {
      type: 'upload.failed' | 'upload.cancelled' | 'upload.expired';
      fileId: string;
      ownerId: string;
      accountId: string | null;
      size: number;
      reason: string | null;
      at: string;
    }
  | { type: 'account.health'; accountId: string; health: Health; enabled: boolean; lastError: string | null; at: string };

export type EventListener = (event: GatewayEvent) => void;

export interface EventBus {
  publish(event: GatewayEvent): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: EventListener): () => void;
  close(): Promise<void>;
}

/** The embedded default: one process, one emitter. (A Redis pub/sub adapter fans out across processes.) */
export class InProcessEventBus implements EventBus {
  private readonly emitter = new EventEmitter();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {
    // The admin console may hold many sockets open; each is one listener.
    this.emitter.setMaxListeners(0);
  }

  publish(event: GatewayEvent): void {
    for (const listener of this.emitter.listeners('event') as EventListener[]) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

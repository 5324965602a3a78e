// The dashboard's live stream (GET /events, Server-Sent Events), fed by Redis pub/sub: one subscriber
// per dashboard process on the bench's job events channel (bw:{<bench_id>}:events, published by the
// scripts that start and end jobs: lua/includes/jobEvents.lua; they publish only while someone listens,
// so the dashboard's subscription is what turns them on). Each browser tab gets:
//  - `job` events: {id, queue, status, site, method, durationMs?} for the sites its user may see;
//  - a `changed` event at most once a second, naming the queues whose jobs moved, so that the page
//    refetches its counts (one small request per second per tab at most, and none while nothing moves);
//  - a comment every 15 s, so that proxies keep the stream open.
// A tab that is hidden closes its stream and polls instead (ui/live.ts): browsers allow 6 connections per origin.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { Redis } from '../redis/client-type.js';
import { keepSubscriberAlive } from '../redis/keep-alive.js';
import { seesSite, type Principal } from './types.js';

/** A job event as jobEvents.lua publishes it. */
export interface JobEvent {
  event: string;
  message: { job_id: string; queue?: string; status?: string; method?: string; duration_ms?: number; error?: unknown; attempt?: number };
  room: string;
  namespace: string;
}

interface Client {
  res: ServerResponse;
  principal: Principal;
  /** Queues changed since the last `changed` event this client got. */
  changed: Set<string>;
}

const CHANGED_EVERY_MS = 1000;
const PING_EVERY_MS = 15_000;

export class LiveEvents {
  private readonly clients = new Set<Client>();
  private subscriber: Redis | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private nextId = 1;
  private stopKeepAlive: () => void = () => {};

  constructor(
    private readonly options: {
      /** A connection of its own for SUBSCRIBE. */
      connect(): Promise<Redis>;
      channel(): string;
      log: Logger;
      /** Every job event, for the metrics (durations, outcomes). */
      observe?(event: JobEvent): void;
    },
  ) {}

  async start(): Promise<void> {
    const subscriber = await this.options.connect();
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
    await subscriber.subscribe(this.options.channel());
    // A silently dead subscriber is replaced (and resubscribed); events missed meanwhile: every page refetches.
    this.stopKeepAlive = keepSubscriberAlive(subscriber);
    subscriber.on('ready', () => this.touchAll());
    this.timers.push(setInterval(() => this.flushChanged(), CHANGED_EVERY_MS).unref());
    this.timers.push(setInterval(() => this.ping(), PING_EVERY_MS).unref());
  }

  /** Open a stream for `principal` on `res`. */
  handle(req: IncomingMessage, res: ServerResponse, principal: Principal): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    // The first bytes flush the headers: the browser reports the stream open.
    res.write('retry: 2000\n\n');
    const client: Client = { res, principal, changed: new Set() };
    this.clients.add(client);
    req.on('close', () => this.clients.delete(client));
  }

  get listeners(): number {
    return this.clients.size;
  }

  close(): void {
    this.stopKeepAlive();
    for (const timer of this.timers) clearInterval(timer);
    for (const client of this.clients) client.res.end();
    this.clients.clear();
    this.subscriber?.disconnect();
  }

  private onMessage(text: string): void {
    let event: JobEvent;
    try {
      event = JSON.parse(text) as JobEvent;
    } catch {
      return;
    }
    // Each job event goes to the room job:<id>, and again to user:<user> when the job has one: once is enough here.
    if (!event.room.startsWith('job:')) return;
    this.options.observe?.(event);
    const { message } = event;
    const payload = JSON.stringify({
      id: message.job_id,
      queue: message.queue,
      status: message.status,
      site: event.namespace,
      method: message.method,
      ...(message.duration_ms !== undefined && { durationMs: message.duration_ms }),
    });
    for (const client of this.clients) {
      if (!seesSite(client.principal, event.namespace)) continue;
      if (message.queue) client.changed.add(message.queue);
      this.send(client, 'job', payload);
    }
  }

  private flushChanged(): void {
    for (const client of this.clients) {
      if (client.changed.size === 0) continue;
      this.send(client, 'changed', JSON.stringify({ queues: [...client.changed] }));
      client.changed.clear();
    }
  }

  private ping(): void {
    for (const client of this.clients) client.res.write(': ping\n\n');
  }

  private send(client: Client, event: string, data: string): void {
    client.res.write(`event: ${event}\nid: ${this.nextId++}\ndata: ${data}\n\n`);
  }

  /** Every stream refetches everything (after a reconnect: job events may have been missed). */
  private touchAll(): void {
    for (const client of this.clients) this.send(client, 'changed', JSON.stringify({ queues: [] }));
  }

  /** Tell every stream that something changed outside the job events (an action: pause, retry...). */
  touch(queues: readonly string[]): void {
    for (const client of this.clients) for (const queue of queues) client.changed.add(queue);
  }
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import Stripe from 'stripe';
import {
  dropConnection, LoopbackSimulator, readBoundedBody, sendSimulatorAnswer, SimulatorFaults, SimulatorStateFile, type SimulatorAnswer, type SimulatorRequestError,
} from '../../../kernel/api';
import { decodeStripeForm } from './form';
import { checkoutPage, portalPage } from './pages';
import { StripeFailure, StripeWorld, type SimulatedEvent, type StripeObject } from './stripe-world';

export { StripeFailure, subscriptionOf, type SimulatedEvent, type StripeObject } from './stripe-world';

/** The keys the simulator's users get unless told otherwise. */
export const SIMULATOR_SECRET_KEY = 'sk_test_zpack_simulator';
export const SIMULATOR_WEBHOOK_SECRET = 'whsec_zpack_simulator';

export interface StripeSimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  latencyMs?: number;
  /** The only secret key accepted (Authorization: Bearer); anything else is 401. */
  secretKey?: string;
  /** Events are signed with it (Stripe-Signature, v1 HMAC-SHA256). */
  webhookSecret?: string;
  /** Where events are posted besides the endpoints created through the API; read at each delivery. */
  webhookUrl?: () => string | undefined;
  /** The simulator's clock in Unix seconds (creation times, signature timestamps). */
  now?: () => number;
  /** JSON file the simulated account is kept in across restarts; unset keeps it in memory. */
  stateFile?: string;
}

/** What the state file keeps; the newest events only. */
interface SavedWorld {
  customers: StripeObject[];
  sessions: StripeObject[];
  subscriptions: StripeObject[];
  invoices: StripeObject[];
  endpoints: StripeObject[];
  events: SimulatedEvent[];
}
const SAVED_EVENTS = 1000;

export interface SimulatorRequest {
  method: string;
  path: string;
  status: number;
  at: number;
}

export interface Delivery {
  eventId: string;
  type: string;
  url: string;
  /** The API's answer; 0 when it could not be reached. */
  status: number;
}

/** How events reach the webhook endpoints; tests change it at runtime. */
export interface DeliveryMode {
  /** Held events wait for flush() (or are never delivered: a missed webhook). */
  paused: boolean;
  /** Each event is posted this many extra times, concurrently. */
  duplicates: number;
  /** Wait before each delivery. */
  delayMs: number;
}

const JSON_LIST = (data: StripeObject[], url: string, limit: number, startingAfter?: string) => {
  const from = startingAfter ? data.findIndex((o) => o.id === startingAfter) + 1 : 0;
  const page = data.slice(from, from + limit);
  return { object: 'list', url, has_more: from + limit < data.length, data: page };
};

/**
 * The Stripe REST API on loopback, as much of it as zpack and the official SDK use: customers,
 * checkout and billing-portal sessions, subscriptions, invoices, events and webhook endpoints,
 * with Idempotency-Key replay, Stripe's error envelope and injectable faults. Events are signed
 * and posted to the webhook endpoints, with duplicates, delays, reordering or not at all on
 * demand. Its pages (`/checkout/:id`, `/portal/:id`) let a person pay or fail a payment.
 */
export class StripeSimulator extends LoopbackSimulator {
  readonly faults = new SimulatorFaults({ errorStatus: 500 });
  readonly world: StripeWorld;
  readonly requests: SimulatorRequest[] = [];
  readonly deliveries: Delivery[] = [];
  readonly delivery: DeliveryMode = { paused: false, duplicates: 0, delayMs: 0 };
  readonly held: SimulatedEvent[] = [];
  private readonly idempotent = new Map<string, { status: number; body: unknown }>();
  private readonly inFlight = new Set<Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly state: SimulatorStateFile<SavedWorld>;

  constructor(private readonly options: StripeSimulatorOptions = {}) {
    super(options);
    this.faults.latencyMs = options.latencyMs ?? 0;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.world = new StripeWorld(this.now, () => this.origin);
    this.state = new SimulatorStateFile(options.stateFile);
    this.restore(this.state.load());
    this.world.onEvent = (event) => this.dispatch(event);
  }

  private restore(saved: SavedWorld | undefined): void {
    if (!saved) return;
    const w = this.world;
    for (const [map, objects] of [[w.customers, saved.customers], [w.sessions, saved.sessions], [w.subscriptions, saved.subscriptions],
      [w.invoices, saved.invoices], [w.endpoints, saved.endpoints]] as const) for (const o of objects) map.set(o.id, o);
    w.events.push(...saved.events);
  }

  private save(): void {
    const w = this.world;
    this.state.save({
      customers: [...w.customers.values()], sessions: [...w.sessions.values()], subscriptions: [...w.subscriptions.values()],
      invoices: [...w.invoices.values()], endpoints: [...w.endpoints.values()], events: w.events.slice(-SAVED_EVENTS),
    });
  }

  /** The API base the SDK is pointed at is the origin; pages live under it too. */
  get origin(): string {
    return this.url;
  }

  get secretKey(): string {
    return this.options.secretKey ?? SIMULATOR_SECRET_KEY;
  }

  get webhookSecret(): string {
    return this.options.webhookSecret ?? SIMULATOR_WEBHOOK_SECRET;
  }

  /** The JSON body and Stripe-Signature header of an event, as Stripe posts it (`timestamp` in Unix seconds). */
  sign(event: SimulatedEvent, timestamp = this.now(), secret = this.webhookSecret): { payload: string; signature: string } {
    const payload = JSON.stringify(event, null, 2);
    return { payload, signature: Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }) };
  }

  /** Delivers the held events (`reorder`: newest first), then resumes live delivery. */
  async flush(options: { reorder?: boolean } = {}): Promise<void> {
    const events = this.held.splice(0);
    if (options.reorder) events.reverse();
    this.delivery.paused = false;
    for (const event of events) await this.deliver(event);
  }

  /** Posts one event to every endpoint (plus its duplicates, concurrently). */
  async deliver(event: SimulatedEvent): Promise<void> {
    if (this.delivery.delayMs) await new Promise((r) => setTimeout(r, this.delivery.delayMs));
    const urls = [...this.world.endpoints.values()].map((e) => String(e.url));
    const configured = this.options.webhookUrl?.();
    if (configured) urls.push(configured);
    await Promise.all(urls.flatMap((url) => Array.from({ length: 1 + this.delivery.duplicates }, () => this.post(url, event))));
  }

  /** Resolves once every delivery started so far is answered. */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  /** Forgets every object, event, delivery and request, and clears every fault. */
  reset(): void {
    for (const map of [this.world.customers, this.world.sessions, this.world.subscriptions, this.world.invoices, this.world.endpoints]) map.clear();
    this.world.events.length = this.requests.length = this.deliveries.length = this.held.length = 0;
    this.idempotent.clear();
    Object.assign(this.delivery, { paused: false, duplicates: 0, delayMs: 0 });
    this.faults.clear();
    this.save();
  }

  private dispatch(event: SimulatedEvent): void {
    if (this.delivery.paused) return void this.held.push(event);
    // In order by default, as one Stripe delivery worker would.
    const done = (this.chain = this.chain.then(() => this.deliver(event)));
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  private async post(url: string, event: SimulatedEvent): Promise<void> {
    const { payload, signature } = this.sign(event);
    const delivery: Delivery = { eventId: event.id, type: event.type, url, status: 0 };
    this.deliveries.push(delivery);
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload, signal: AbortSignal.timeout(10_000) });
      delivery.status = res.status;
      await res.arrayBuffer();
    } catch {
      delivery.status = 0;
    }
  }

  protected failure(err: SimulatorRequestError): SimulatorAnswer {
    return fail(new StripeFailure(err.status, err.status >= 500 ? 'api_error' : 'invalid_request_error', err.message));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const entry: SimulatorRequest = { method, path: url.pathname, status: 0, at: Date.now() };
    this.requests.push(entry);
    if (this.requests.length > 1000) this.requests.shift();
    const raw = await readBoundedBody(req);
    await this.faults.delay();
    if (this.faults.takeDrop()) return dropConnection(req);
    const form = decodeStripeForm(new URLSearchParams(method === 'GET' ? url.search : raw.toString('utf8')));
    const page = await this.page(method, url, form);
    if (page) {
      if (method === 'POST') this.save();
      entry.status = page.status;
      res.writeHead(page.status, { 'content-type': page.type ?? 'text/html; charset=utf-8', ...(page.location ? { location: page.location } : {}) });
      return void res.end(page.body);
    }
    const answer = this.api(req, method, url, form);
    if (method === 'POST') this.save();
    entry.status = answer.status;
    sendSimulatorAnswer(res, answer);
  }

  private api(req: IncomingMessage, method: string, url: URL, form: Record<string, unknown>): SimulatorAnswer {
    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      return fail(new StripeFailure(401, 'invalid_request_error', 'Invalid API Key provided'));
    }
    const retryAfter = this.faults.takeRateLimit(method);
    if (retryAfter !== undefined) {
      const limited = fail(new StripeFailure(429, 'invalid_request_error', 'Too many requests hit the API too quickly.', 'rate_limit'));
      return { ...limited, headers: { 'Retry-After': String(retryAfter) } };
    }
    const injected = this.faults.takeFailure(method);
    if (injected !== undefined) return fail(new StripeFailure(injected, 'api_error', 'An unexpected error occurred (injected)'));
    const key = req.headers['idempotency-key'];
    const replayKey = method === 'POST' && typeof key === 'string' ? `${url.pathname} ${key}` : undefined;
    const prior = replayKey ? this.idempotent.get(replayKey) : undefined;
    if (prior) return { ...prior, headers: { 'Idempotent-Replayed': 'true' } };
    let answer: SimulatorAnswer;
    try {
      answer = { status: 200, body: this.route(method, url.pathname, form) };
    } catch (err) {
      if (!(err instanceof StripeFailure)) throw err;
      answer = fail(err);
    }
    if (replayKey && answer.status < 500) this.idempotent.set(replayKey, { status: answer.status, body: answer.body });
    return answer;
  }

  private route(method: string, path: string, form: Record<string, any>): unknown {
    const w = this.world;
    const limit = Math.min(100, Math.max(1, Number(form.limit ?? 10) || 10));
    const newestFirst = (objects: StripeObject[]) => [...objects].reverse();
    const list = (objects: StripeObject[]) => JSON_LIST(newestFirst(objects), path, limit, form.starting_after);
    const [, resource, id] = /^\/v1\/(customers|checkout\/sessions|billing_portal\/sessions|subscriptions|invoices|events|webhook_endpoints)(?:\/([^/]+))?$/.exec(path) ?? [];
    switch (`${method} ${resource}${id ? '/:id' : ''}`) {
      case 'POST customers': return w.createCustomer(form);
      case 'GET customers/:id': return w.get(w.customers, 'customer', id);
      case 'POST checkout/sessions': return w.createCheckoutSession(form);
      case 'GET checkout/sessions/:id': return w.get(w.sessions, 'checkout session', id);
      case 'POST billing_portal/sessions': return w.createPortalSession(form);
      case 'GET subscriptions/:id': return w.get(w.subscriptions, 'subscription', id);
      case 'GET subscriptions':
        // Without a status filter Stripe leaves canceled subscriptions out; `all` keeps them.
        return list([...w.subscriptions.values()].filter((s) => (!form.customer || s.customer === form.customer)
          && (form.status === 'all' || (form.status ? s.status === form.status : s.status !== 'canceled'))));
      case 'GET invoices/:id': return w.get(w.invoices, 'invoice', id);
      case 'GET invoices': return list([...w.invoices.values()].filter((i) => !form.customer || i.customer === form.customer));
      case 'GET events/:id': {
        const event = w.events.find((e) => e.id === id);
        if (!event) throw new StripeFailure(404, 'invalid_request_error', `No such event: '${id}'`, 'resource_missing', 'id');
        return event;
      }
      case 'GET events': {
        const gte = Number(form.created?.gte ?? 0);
        const types: string[] | undefined = form.types ?? (form.type ? [form.type] : undefined);
        return list(w.events.filter((e) => e.created >= gte && (!types || types.includes(e.type))));
      }
      case 'POST webhook_endpoints': return { ...w.createEndpoint(form), secret: this.webhookSecret };
      case 'GET webhook_endpoints': return list([...w.endpoints.values()]);
    }
    throw new StripeFailure(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path})`);
  }

  /** The pages a person sees in simulate mode: pay or fail at checkout, pay or fail a renewal in the portal. */
  private async page(method: string, url: URL, form: Record<string, unknown>): Promise<{ status: number; body: string; type?: string; location?: string } | undefined> {
    const [, area, id, action] = url.pathname.split('/');
    if (area !== 'checkout' && area !== 'portal') return undefined;
    try {
      if (area === 'checkout') {
        const session = this.world.get(this.world.sessions, 'checkout session', id ?? '');
        if (method === 'GET') return { status: 200, body: checkoutPage(session) };
        const subscription = this.world.completeCheckout(session.id, action === 'pay' ? 'paid' : 'declined');
        await this.idle();
        const back = subscription ? session.success_url : session.cancel_url;
        return back ? { status: 303, body: '', location: String(back) } : { status: 200, body: checkoutPage(session, subscription ? 'paid' : 'declined') };
      }
      const customer = String(url.searchParams.get('customer') ?? form.customer ?? '');
      this.world.get(this.world.customers, 'customer', customer);
      const subscriptions = [...this.world.subscriptions.values()].filter((s) => s.customer === customer && s.status !== 'canceled');
      if (method === 'POST' && subscriptions[0]) {
        if (action === 'pay') this.world.payOpenInvoices(subscriptions[0].id);
        if (action === 'fail') this.world.renew(subscriptions[0].id, 'failed');
        await this.idle();
      }
      return { status: 200, body: portalPage(id ?? '', customer, subscriptions) };
    } catch (err) {
      if (err instanceof StripeFailure) return { status: err.status, body: err.message, type: 'text/plain; charset=utf-8' };
      throw err;
    }
  }
}

function fail(err: StripeFailure): SimulatorAnswer {
  return { status: err.status, body: { error: { type: err.type, message: err.message, ...(err.code ? { code: err.code } : {}), ...(err.param ? { param: err.param } : {}) } } };
}

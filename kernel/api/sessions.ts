import type { AccountView } from './domain';

/**
 * An end of authority that long-lived connections (consoles, proxied IDE sockets) must act on at
 * once: a login session revoked, an account suspended, a server deleted. Each names what it ends.
 */
export interface AccessEnded {
  instanceId?: string;
  accountId?: string;
  sessionId?: string;
  /** An API key revoked: what was opened with its tickets ends. */
  apiKeyId?: string;
  /**
   * Only what matches every field given (one subuser's access to one server), not what matches any
   * of them: taking a subuser's console away ends neither the owner's connections nor theirs elsewhere.
   */
  all?: boolean;
  /** The WebSocket close code the console uses for it (4401 session, 4402 suspended, 4410 deleted). */
  code: number;
  reason: string;
}

/** Login sessions as plugins holding their own credentials (an IDE cookie) check them. */
export interface LiveSessions {
  /** The account behind a session that is neither revoked nor expired, read from the database; undefined otherwise. */
  account(sessionId: string, accountId: string): Promise<AccountView | undefined>;
  /** When the session expires (its refresh expiry), or undefined when there is no such session. */
  expiresAt(sessionId: string): Promise<Date | undefined>;
  /**
   * Calls `listener` in this process for every end broadcast to all API processes; returns the
   * unsubscribe. Orders can be lost with Redis: check `account` too before trusting a credential.
   */
  onEnded(listener: (ended: AccessEnded) => void): () => void;
}

/** What a console's typed commands become in the activity log. */
export interface CommandRecord {
  event: 'console.command' | 'console.commands_summarized';
  properties: Record<string, unknown>;
}

export interface CommandLogLimits {
  /** Commands recorded one by one in a burst. */
  burst: number;
  /** Commands recorded one by one per second once the burst is spent. */
  perSecond: number;
}

/**
 * Each command typed at a console is recorded, up to a rate no person reaches: past it (a script
 * pasting thousands of lines, or someone making the database write for every keystroke), the
 * commands are summed up, once a second and when the console closes, as one entry with their count
 * and the last of them. Nothing typed goes unaccounted for, and no console can make the activity
 * log write faster than `perSecond` entries (plus one summary a second).
 */
export class ConsoleCommandLog {
  private tokens: number;
  private refilledAt: number;
  private summed = 0;
  private last = '';
  private timer?: NodeJS.Timeout;

  constructor(private readonly limits: CommandLogLimits, private readonly record: (r: CommandRecord) => void, private readonly now: () => number = Date.now) {
    this.tokens = limits.burst;
    this.refilledAt = now();
  }

  typed(command: string): void {
    const now = this.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.limits.perSecond);
    this.refilledAt = now;
    if (this.tokens >= 1 && !this.summed) {
      this.tokens -= 1;
      return this.record({ event: 'console.command', properties: { command } });
    }
    this.summed++;
    this.last = command;
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), 1000);
      this.timer.unref();
    }
  }

  /** Records the commands summed up so far, if any (each second, and when the console closes). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.summed) return;
    this.record({ event: 'console.commands_summarized', properties: { count: this.summed, last: this.last } });
    this.summed = 0;
  }
}

/** A ratio a benchmark promises to reach against the baseline it measured in the same run. */
export interface TargetCheck {
  name: string;
  /** Measured ratio to the baseline (higher is better). */
  ratio: number;
  /** Smallest acceptable ratio. */
  minimum: number;
  /** Why the run does not count even if the ratio is met (errors, non-2xx answers), else empty. */
  invalid: string;
}

export interface BenchmarkReport {
  targets: TargetCheck[];
  /** Headline numbers for the final summary, e.g. `cold start (all)` → `1234 ms`. */
  figures: Array<{ label: string; value: string }>;
}

export interface Benchmark {
  name: string;
  /** One line: what is measured against what. */
  summary: string;
  run(): Promise<BenchmarkReport>;
}

const targetMet = (t: TargetCheck): boolean => !t.invalid && t.ratio >= t.minimum;

/** `OK`, `MISS`, or `MISS (why the run does not count)`. */
export const verdict = (t: TargetCheck): string => (targetMet(t) ? 'OK' : `MISS${t.invalid ? ` (${t.invalid})` : ''}`);

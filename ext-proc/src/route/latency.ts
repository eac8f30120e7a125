/**
 * Observed latency per model: an exponentially weighted moving average of call durations (the
 * same recent-past bias an operator has in mind), read by the router's score.
 */
export class LatencyTracker {
  private readonly avg = new Map<string, number>();

  constructor(private readonly alpha = 0.2) {}

  observe(model: string, seconds: number): void {
    const prev = this.avg.get(model);
    this.avg.set(model, prev === undefined ? seconds : prev + this.alpha * (seconds - prev));
  }

  /** Seconds, or undefined before the first observation. */
  get(model: string): number | undefined {
    return this.avg.get(model);
  }
}

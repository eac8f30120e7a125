import type { StreamEvent } from '../providers/canonical/types.js';
import { type Originals, PlaceholderStream, restoreJsonText } from '../safety/pii/restore.js';

/**
 * Puts a call's values back into a stream's events (PII redaction with `pii_restore`). A model
 * writes a placeholder over several tokens, so one may be cut across text deltas (or tool-call
 * argument deltas): each channel holds back only a tail that could still become one, and lets
 * it go before anything that must come after it (another block, the finish, the end).
 */
export class RestoringEvents {
  private readonly text: PlaceholderStream;
  private readonly tools = new Map<number, PlaceholderStream>();

  constructor(private readonly originals: Originals) {
    this.text = new PlaceholderStream(originals);
  }

  push(events: StreamEvent[]): StreamEvent[] {
    const out: StreamEvent[] = [];
    for (const e of events) {
      if (e.type === 'text') {
        const text = this.text.push(e.text);
        if (text) out.push({ type: 'text', text });
      } else if (e.type === 'tool_call_delta') {
        const args = this.tool(e.index).push(e.arguments);
        if (args) out.push({ ...e, arguments: args });
      } else {
        if (e.type !== 'start' && e.type !== 'usage') this.flushInto(out);
        out.push(e);
      }
    }
    return out;
  }

  /** The stream ended: whatever was held goes out as it was. */
  end(): StreamEvent[] {
    const out: StreamEvent[] = [];
    this.flushInto(out);
    return out;
  }

  private tool(index: number): PlaceholderStream {
    let s = this.tools.get(index);
    if (!s) this.tools.set(index, (s = new PlaceholderStream(this.originals, restoreJsonText)));
    return s;
  }

  private flushInto(out: StreamEvent[]): void {
    const text = this.text.flush();
    if (text) out.push({ type: 'text', text });
    for (const [index, s] of this.tools) {
      const args = s.flush();
      if (args) out.push({ type: 'tool_call_delta', index, arguments: args });
    }
  }
}

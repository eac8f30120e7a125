/** Writing answers: whole JSON bodies, the half body of a `midstream` failure, stream heads. */
import type http from 'node:http';

export const JSON_TYPE = 'application/json';

export interface JsonResponder {
  /** Sends `payload` with `headers`, unless the response has already started or closed. */
  send(res: http.ServerResponse, status: number, payload: unknown, headers?: Record<string, string>): void;
  /** Starts a 200 answer with the full content-length, sends half of it, then drops the connection. */
  sendHalf(res: http.ServerResponse, payload: unknown, headers?: Record<string, string>): void;
}

export interface JsonResponderOptions {
  /** The content type the provider labels its JSON with (charset spelling varies); default application/json. */
  contentType?: string;
  /**
   * Where an answer's own headers go, before or after content-type and content-length (default
   * before). The order means nothing to HTTP; it is kept as each simulator has always sent it.
   */
  extraHeaders?: 'before' | 'after';
}

export function jsonResponder(opts: JsonResponderOptions = {}): JsonResponder {
  const contentType = opts.contentType ?? JSON_TYPE;
  const head = (text: string, headers: Record<string, string>): Record<string, string> => {
    const content = { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)) };
    return opts.extraHeaders === 'after' ? { ...content, ...headers } : { ...headers, ...content };
  };
  return {
    send(res, status, payload, headers = {}) {
      if (res.destroyed || res.headersSent) return;
      const text = JSON.stringify(payload);
      res.writeHead(status, head(text, headers));
      res.end(text);
    },
    sendHalf(res, payload, headers = {}) {
      const text = JSON.stringify(payload);
      res.writeHead(200, head(text, headers));
      res.write(text.slice(0, Math.floor(text.length / 2)));
      setImmediate(() => res.destroy());
    },
  };
}

/** Sends the head of a streamed 200 answer at once, before the first chunk is ready. */
export function startStream(res: http.ServerResponse, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(200, { ...headers, 'content-type': contentType, 'cache-control': 'no-cache' });
  res.flushHeaders();
}

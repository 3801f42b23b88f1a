import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './webhook-address.ts';

export interface PostResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** Answers every lookup the socket makes with the address that was checked: DNS is not asked twice. */
const pinned =
  ({ address, family }: ResolvedAddress): LookupFunction =>
  (_host, options, callback) =>
    options.all ? callback(null, [{ address, family }]) : callback(null, address, family);

/**
 * One POST to the endpoint's URL over a connection to `to`, the address checked for it. The URL's
 * host stays the Host header and, for https, the TLS server name (SNI and the certificate check).
 * Redirects are not followed; a capped wait and a capped read; a fresh connection each time, so
 * no pooled socket outlives the check it was made under.
 */
export function postPinned(to: ResolvedAddress, url: string, headers: Record<string, string>, body: string, timeoutMs: number, signal?: AbortSignal): Promise<PostResult> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  const client = new URL(url).protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      resolve({ statusCode, error, durationMs: performance.now() - started });
    };
    const req = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned(to),
        agent: false,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.length >= 300) res.destroy();
        });
        res.on('error', () => {}); // a body cut short still has its status
        res.on('close', () => {
          const shown = text.slice(0, 300);
          if (status >= 200 && status < 300) settle(status, null);
          else if (status >= 300 && status < 400) settle(status, `HTTP ${status}: redirects are not followed`);
          else settle(status, `HTTP ${status}${shown ? `: ${shown}` : ''}`);
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      settle(null, `request failed: ${timeout.aborted ? `no answer within ${timeoutMs} ms` : (err.code ?? err.message)}`);
    });
    req.end(body);
  });
}

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real webhook receiver on 127.0.0.1 answering with the statuses given, in order (then 200). */
export async function receiver(statuses: number[] = []) {
  const hits: { body: Record<string, unknown>; headers: IncomingMessage['headers'] }[] = [];
  let i = 0;
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      hits.push({ body: JSON.parse(data), headers: req.headers });
      res.statusCode = statuses[i++] ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

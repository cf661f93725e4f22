import { createServer } from 'node:http';

// The HTTP limit: node:http reading each request body and answering a fixed JSON of a given
// size, so /predict can be compared with a server that does no work at all.
const bytes = Number(process.env.BENCH_RESPONSE_BYTES ?? 100);
const body = Buffer.from(JSON.stringify({ pad: 'x'.repeat(Math.max(0, bytes - 10)) }));
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, headers);
    response.end(body);
  });
});
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));

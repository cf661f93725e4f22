import { createServer, type Server } from 'node:http';
import { freePort } from '../../shared/processes/processes.js';

/** A Slack-style incoming webhook on a free loopback port, keeping every `text` it is sent. */
export async function webhookServer(path = '/hooks/alerts'): Promise<{ server: Server; url: string; texts: string[] }> {
  const texts: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      texts.push((JSON.parse(body) as { text: string }).text);
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${port}${path}`, texts };
}

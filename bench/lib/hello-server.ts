// The yardstick of the render scenario: fastify (the version metalboot uses) answering a constant
// string, logger off. Usage: node --import=@tapjs/typescript/import bench/lib/hello-server.ts <host> <port>
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('hello world\n'));
await app.listen({ host: process.argv[2] ?? '127.0.0.1', port: Number(process.argv[3] ?? 8081) });
console.log('HELLO READY');
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));

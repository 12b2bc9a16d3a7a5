import { connect } from 'node:net';

/**
 * Opens a TCP connection, sends `request`, and resolves true once the bytes received so far
 * satisfy `answered` (false on a refused connection, an error or the timeout). A protocol-level
 * check: a stopped process still has its connections accepted by the kernel, but never answers.
 */
export function answersRequest(host: string, port: number, request: Buffer | string, answered: (received: Buffer) => boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (answered(received)) done(true);
    });
  });
}

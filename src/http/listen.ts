/**
 * Opening a port for a Koa app, with the errors a person can act on (the setting to change).
 */
import http from 'node:http';
import type Koa from 'koa';

export interface Listening {
  server: http.Server;
  /** The port actually bound (useful with port 0 in tests). */
  port: number;
  close(): void;
}

/** Listens on `host:port`; `what` names the settings in errors, e.g. "PORT/BIND_ADDRESS". */
export async function listen(app: Koa, port: number, host: string, what: string): Promise<Listening> {
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new Error(`${host}:${port} is already in use; set ${what} to a free port`));
      else if (err.code === 'EADDRNOTAVAIL') reject(new Error(`${host} is not an address of this machine; check ${what}`));
      else if (err.code === 'EACCES') reject(new Error(`not allowed to listen on ${host}:${port} (ports below 1024 need privileges); check ${what}`));
      else reject(err);
    });
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}

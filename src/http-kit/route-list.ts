// The routes a fastify server registered, as they were added (HEAD twins left out): what a test
// compares with the server's published API description.
import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  method: string;
  url: string;
}

const lists = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Call first, before any route is added. */
export function recordRoutes(app: FastifyInstance): void {
  const list: RouteEntry[] = [];
  lists.set(app, list);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') list.push({ method, url: route.url });
  });
}

export function routesOf(app: FastifyInstance): readonly RouteEntry[] {
  return lists.get(app) ?? [];
}

import type { FastifyRequest } from 'fastify';

/**
 * What the request log keeps of a request. Query strings carry CSRF tokens (uploads send
 * `_csrf` there) and search terms — a child's initials, a case ID, a worker's name — so the
 * log keeps each parameter's name and never its value.
 */
export function redactedUrl(url: string): string {
  const [path, query] = url.split(/\?(.*)/s, 2) as [string, string | undefined];
  if (query === undefined) return path;
  const names = query
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=')[0]}=…`);
  return `${path}?${names.join('&')}`;
}

export const requestLogSerializers = {
  req(request: FastifyRequest) {
    return { method: request.method, url: redactedUrl(request.url), remoteAddress: request.ip };
  },
};

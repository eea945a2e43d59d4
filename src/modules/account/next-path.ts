/** Only same-site paths are followed after sign-in, never another host. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?!\/)[^\s\\]*$/.test(value) ? value : '/';
}

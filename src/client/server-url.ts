// A broker's URL as rac stores and compares it. Its own module: the credential store needs it, and
// importing the broker client for it would load undici (a third of a second) in `rac cp` and `rac shell`.

/** "https://host:8080/api/" → "https://host:8080". Throws on anything that is not an http(s) URL. */
export function normalizeServerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    throw new TypeError(`not a URL: "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`not an http(s) URL: "${text}"`);
  if (url.search || url.hash) throw new TypeError(`a server URL has no query or fragment: "${text}"`);
  return url.origin + url.pathname.replace(/\/+$/, '').replace(/\/api$/, '');
}

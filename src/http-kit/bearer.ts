// `Authorization: Bearer <credential>`: the credential, or null when the header is absent or
// uses another scheme.
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(.+)$/i.exec((header ?? '').trim());
  return match?.[1] ?? null;
}

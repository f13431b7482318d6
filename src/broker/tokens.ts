// Login tokens: HS256 JWTs (jose) carrying the user id, role and the user's token version.
// Raising a user's token version (password change, disable) revokes every token issued before.
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

export const TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

export interface TokenClaims {
  userId: number;
  role: string;
  tokenVersion: number;
}

export class TokenIssuer {
  constructor(private readonly key: Uint8Array) {}

  sign(claims: TokenClaims): Promise<string> {
    return new SignJWT({ role: claims.role, tv: claims.tokenVersion })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(claims.userId))
      .setIssuedAt()
      .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
      .setIssuer('rac')
      .sign(this.key);
  }

  /** The token's claims, or null when it is malformed, forged or expired. */
  async verify(token: string): Promise<TokenClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: 'rac' });
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId) || typeof payload.role !== 'string' || typeof payload.tv !== 'number') {
        return null;
      }
      return { userId, role: payload.role, tokenVersion: payload.tv };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null;
      throw err;
    }
  }
}

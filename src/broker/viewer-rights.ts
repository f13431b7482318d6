// Continuous authorisation: whether an IT member's login still gives them a session. The users
// connected are read again at every sweep, and a change to a user counts at once; checks use the last read.
import { CloseCode } from '../protocol/index.js';
import type { ViewerLogin } from './live-session.js';
import type { UserStore, UserWithSecrets } from './users.js';

/** The session a refusal is about: who owns it. */
interface Owned {
  ownerId: number;
}

export class ViewerRights {
  /** Users as last read from the database, by id (undefined: deleted). */
  private readonly known = new Map<number, UserWithSecrets | undefined>();

  constructor(
    private readonly users: UserStore,
    private readonly now: () => number,
  ) {}

  /** A change to a user arrived (from this node or another): it is what counts from now on. */
  changed(user: UserWithSecrets): void {
    this.known.set(user.id, user);
  }

  /** Reads these users again (those connected now); the others are forgotten until they connect. */
  async reread(ids: Set<number>): Promise<void> {
    for (const id of [...this.known.keys()]) if (!ids.has(id)) this.known.delete(id);
    await Promise.all([...ids].map((id) => this.read(id)));
  }

  /**
   * The refusal by the user as last read; as at login when never read yet (it is then read for the
   * next check: a read error goes to `failed`).
   */
  knownRefusal(session: Owned, viewer: ViewerLogin, failed: (err: Error) => void): number | undefined {
    if (this.known.has(viewer.user.id)) return this.refusalFor(this.known.get(viewer.user.id), session, viewer);
    this.read(viewer.user.id).catch(failed);
    return this.refusalFor(viewer.user, session, viewer);
  }

  private async read(id: number): Promise<UserWithSecrets | undefined> {
    const user = await this.users.byId(id);
    this.known.set(id, user);
    return user;
  }

  private refusalFor(user: UserWithSecrets | undefined, session: Owned, viewer: ViewerLogin): number | undefined {
    if (!user || !user.is_active || user.token_version !== viewer.tokenVersion || this.now() >= viewer.expiresAt) {
      return CloseCode.NOT_AUTHENTICATED;
    }
    if (user.role !== 'admin' && user.id !== session.ownerId) return CloseCode.FORBIDDEN;
    return undefined;
  }
}

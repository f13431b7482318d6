// The user's sessions, refreshed every few seconds, with create and close.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { BrokerClient, Session } from '../../client/broker-client.js';

export type SessionApi = Pick<BrokerClient, 'listSessions' | 'createSession' | 'closeSession'>;

export interface SessionsState {
  sessions: Session[];
  loaded: boolean;
  error?: string;
  refresh(): Promise<void>;
  create(input: { customer_name?: string; customer_email?: string }): Promise<Session | undefined>;
  close(session: Session): Promise<void>;
}

export function useSessions(api: SessionApi, pollMs = 3000): SessionsState {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string>();
  const alive = useRef(true);

  const refresh = useCallback(async () => {
    try {
      const list = await api.listSessions();
      if (!alive.current) return;
      setSessions(list);
      setLoaded(true);
      setError(undefined);
    } catch (err) {
      if (alive.current) setError((err as Error).message);
    }
  }, [api]);

  useEffect(() => {
    alive.current = true;
    void refresh();
    const timer = setInterval(() => void refresh(), pollMs);
    return () => {
      alive.current = false;
      clearInterval(timer);
    };
  }, [refresh, pollMs]);

  const create = useCallback(
    async (input: { customer_name?: string; customer_email?: string }) => {
      try {
        const session = await api.createSession(input);
        await refresh();
        return session;
      } catch (err) {
        if (alive.current) setError((err as Error).message);
        return undefined;
      }
    },
    [api, refresh],
  );

  const close = useCallback(
    async (session: Session) => {
      try {
        await api.closeSession(session.id);
      } catch (err) {
        if (alive.current) setError((err as Error).message);
      }
      await refresh();
    },
    [api, refresh],
  );

  return { sessions, loaded, error, refresh, create, close };
}

// What a session's UDP relay counts: every datagram in and out, what it forwarded, and each reason it
// dropped one or refused a handshake, ticket or confirm (served per session and in the metrics).

export interface RelayCounters {
  datagrams_in: number;
  datagrams_out: number;
  bytes_in: number;
  bytes_out: number;
  frames_chunks_forwarded: number;
  input_forwarded: number;
  sealed_forwarded: number;
  keepalives: number;
  dropped_malformed: number;
  dropped_unknown_source: number;
  dropped_not_allowed: number;
  dropped_no_peer: number;
  /** Clear frames, input or party control in a session that does not allow the reference client. */
  dropped_clear: number;
  /** A viewer's sealed datagram naming another viewer's id. */
  dropped_wrong_viewer: number;
  /** Agent handshakes accepted (proven, or plain where allowed). */
  handshakes_accepted: number;
  handshakes_no_proof: number;
  /** A proof that does not verify, or a timestamp not above the last accepted one (a replay). */
  handshakes_bad_proof: number;
  handshakes_wrong_code: number;
  handshakes_throttled: number;
  tickets_refused: number;
  tickets_replayed: number;
  confirms_refused: number;
  agent_repins: number;
  agent_repins_refused: number;
}

export const newCounters = (): RelayCounters => ({
  datagrams_in: 0,
  datagrams_out: 0,
  bytes_in: 0,
  bytes_out: 0,
  frames_chunks_forwarded: 0,
  input_forwarded: 0,
  sealed_forwarded: 0,
  keepalives: 0,
  dropped_malformed: 0,
  dropped_unknown_source: 0,
  dropped_not_allowed: 0,
  dropped_no_peer: 0,
  dropped_clear: 0,
  dropped_wrong_viewer: 0,
  handshakes_accepted: 0,
  handshakes_no_proof: 0,
  handshakes_bad_proof: 0,
  handshakes_wrong_code: 0,
  handshakes_throttled: 0,
  tickets_refused: 0,
  tickets_replayed: 0,
  confirms_refused: 0,
  agent_repins: 0,
  agent_repins_refused: 0,
});

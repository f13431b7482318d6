// The one-line status bar under the remote picture.
import { Box, Text } from 'ink';
import type { Region } from '../graphics/fit.js';
import type { LinkState, LinkStats, StreamSecurity } from '../session-connection.js';
import { terminalSafe } from '../../protocol/display-text.js';
import { groupCode } from '../format.js';

export interface StatusLineProps {
  code: string;
  customer?: string | null;
  /** The broker's session status (pending, active, disconnected, closed). */
  status: string;
  /** The security code to compare with the customer, or NOT ENCRYPTED. */
  security?: StreamSecurity;
  link: LinkState;
  stats: LinkStats;
  /** Whether any frame has arrived yet: an active session without frames awaits the customer's consent. */
  hasPicture: boolean;
  /** Where keys and the mouse go. */
  control: 'remote' | 'viewer';
  escapeKey: string;
  /** Why the link is reconnecting or ended. */
  detail?: string;
  graphics?: string;
  /** 'fit', '2×', '1:1', ... */
  zoom?: string;
  /** The part of the remote picture shown, when zoomed in. */
  region?: Region;
  /** A passing message (the clipboard's), shown instead of the figures for a few seconds. */
  notice?: string;
}

/** "fit", or "2× 960×540 at 480,270": how far in and where. */
export function zoomText(zoom: string, region?: Region): string {
  return region ? `${zoom} ${region.width}×${region.height} at ${region.x},${region.y}` : zoom;
}

/** The message that matters most right now, if any, and its colour. */
export function statusMessage(
  p: Pick<StatusLineProps, 'status' | 'link' | 'hasPicture' | 'detail'>,
): { text: string; color: string } | undefined {
  // The detail is often the broker's or the agent's reason: no control characters reach the terminal.
  const detail = p.detail ? terminalSafe(p.detail) : '';
  if (p.link === 'ended') return { text: `session ended${detail ? `: ${detail}` : ''}`, color: 'red' };
  if (p.link === 'reconnecting') return { text: `reconnecting${detail ? ` (${detail})` : ''}…`, color: 'yellow' };
  if (p.link === 'connecting' || p.link === 'joining') return { text: `connecting…${detail ? ` ${detail}` : ''}`, color: 'yellow' };
  if (p.status === 'pending') return { text: 'waiting for the customer to join…', color: 'yellow' };
  if (p.status === 'disconnected') return { text: 'customer disconnected, waiting…', color: 'red' };
  if (p.status === 'closed') return { text: 'session closed', color: 'red' };
  if (!p.hasPicture) return { text: "waiting for the customer's consent…", color: 'yellow' };
  return undefined;
}

/** The agent's quality and frame-rate cap: "q60 ≤15 fps auto", or "pinned" when a viewer fixed them. */
export function settingsText(settings: LinkStats['settings']): string {
  return settings ? ` · q${settings.quality} ≤${settings.fps} fps ${settings.auto ? 'auto' : 'pinned'}` : '';
}

/** What the status line says about encryption: the code to compare, or a warning. */
export function securityLabel(security: StreamSecurity | undefined): { text: string; color: string; bold?: boolean } | undefined {
  if (!security) return undefined;
  if (security.state === 'not_encrypted') return { text: 'NOT ENCRYPTED', color: 'red', bold: true };
  if (security.state === 'exchanging') return { text: security.keyChanged ? "customer's key changed…" : 'agreeing keys…', color: 'yellow' };
  return { text: `code ${security.sas ?? '?'}`, color: 'green' };
}

/** Viewer mode's keys, short enough to leave room for a zoomed region and the code at 100 columns (arrows pan: man rac-view). */
export const VIEWER_KEYS_HINT = 'viewer: q quit · +/-/0 zoom · s shell';

export function StatusLine(props: StatusLineProps) {
  const { stats } = props;
  const message = statusMessage(props);
  const security = securityLabel(props.security);
  const latency = stats.latencyMs === undefined ? '–' : `${Math.round(stats.latencyMs)} ms`;
  return (
    <Box width="100%">
      <Box flexGrow={1} flexShrink={1} overflow="hidden">
        <Text wrap="truncate-end">
          <Text bold>{groupCode(props.code)}</Text>
          {props.customer ? <Text> · {terminalSafe(props.customer)}</Text> : null}
          <Text> · {props.status}</Text>
          {message ? (
            <Text color={message.color}> · {message.text}</Text>
          ) : props.notice ? (
            <Text color="cyan"> · {terminalSafe(props.notice)}</Text>
          ) : (
            <Text dimColor>
              {' '}
              · {stats.fps.toFixed(1)} fps · {Math.round(stats.kbps)} kbit/s · loss {Math.round(stats.frameLoss * 100)}% · {latency}
              {settingsText(stats.settings)}
            </Text>
          )}
        </Text>
      </Box>
      <Box flexShrink={0}>
        {props.zoom ? (
          <Text color={props.region ? 'cyan' : undefined} dimColor={!props.region}>{` ${zoomText(props.zoom, props.region)} `}</Text>
        ) : null}
        {/* The security code is never cut off: it is what the IT member reads to the customer. */}
        {security ? (
          <Text color={security.color} bold={security.bold}>
            {' '}
            {security.text}{' '}
          </Text>
        ) : null}
        <Text inverse={props.control === 'viewer'} color={props.control === 'remote' ? 'green' : undefined}>
          {' '}
          {props.escapeKey} {props.control === 'remote' ? 'remote' : VIEWER_KEYS_HINT}{' '}
        </Text>
      </Box>
    </Box>
  );
}

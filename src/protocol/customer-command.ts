// The command line a customer runs to join a session, in one place for the broker (mail, /join
// page, API), the CLI and the viewer. The package comes from the broker itself, never from a
// registry: nobody else can publish what our customers run, and they run the broker's own version.

/** Where the broker serves its own package (`npm pack` of the running installation). */
export const AGENT_DOWNLOAD_PREFIX = '/download/';

export const agentPackageFileName = (version: string): string => `rac-${version}.tgz`;

/** The broker URL without trailing slashes: "https://rac.example.com". */
const trimmed = (brokerUrl: string): string => brokerUrl.replace(/\/+$/, '');

export const agentPackageUrl = (brokerUrl: string, version: string): string =>
  `${trimmed(brokerUrl)}${AGENT_DOWNLOAD_PREFIX}${agentPackageFileName(version)}`;

/**
 * `npx --yes https://BROKER/download/rac-VERSION.tgz agent --code CODE --server https://BROKER`:
 * npx installs the tarball (its dependencies from the npm registry) and runs its `rac` binary.
 * `--yes` spares the customer npx's "Ok to proceed?" question.
 */
export function customerCommand(input: { code: string; brokerUrl: string; version: string }): string {
  const broker = trimmed(input.brokerUrl);
  return `npx --yes ${agentPackageUrl(broker, input.version)} agent --code ${input.code} --server ${broker}`;
}

/** The customer's page for a code: the command for each system and what they will see. */
export const joinPagePath = (code: string): string => `/join/${code}`;

import { execFileSync } from 'node:child_process';

/**
 * Whether a Debian tool (litmus, rclone, vdirsyncer) is installed. Locally a missing tool skips
 * its test with a visible reason; in CI (DAVENPORT_REQUIRE_TOOLS=1) it fails instead.
 */
export function toolSkip(tool: string): string | false {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return false;
  } catch {
    if (process.env.DAVENPORT_REQUIRE_TOOLS === '1') throw new Error(`${tool} is required here but not installed (apt-get install -y ${tool})`);
    const reason = `${tool} is not installed: apt-get install -y ${tool} to run this test`;
    process.stderr.write(`# SKIP ${reason}\n`);
    return reason;
  }
}
